package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.config.TrainTokenizerConfig;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.tokenizer.BpeTrainer;
import dev.sparkgpt.tokenizer.BpeVocabulary;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainTokenizerJobTest extends SparkTestBase {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final Path VERDICT = Path.of("src/main/resources/data/corpora/the-verdict.txt");

  @Test
  void sparkCountsGiveTheSameVocabularyAsTrainingOnTheWholeTextAndTokenizeUsesIt(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("bpe");
    TrainTokenizerConfig c = ConfigLoader.load(TrainTokenizerConfig.class, TrainTokenizerConfig.defaults(), null,
        List.of("vocab_size=600"), Map.of("input", List.of(VERDICT.toString()), "output", out.toString()), null);
    BpeVocabulary trained = TrainTokenizerJob.run(spark, c, QUIET);
    assertEquals(600, trained.size());
    assertTrue(Files.exists(out.resolve("_SUCCESS")) && Files.exists(out.resolve("encoder.json")));

    // the distributed word count must equal counting on one machine: same merges, same files
    String text = Files.readString(VERDICT);
    BpeVocabulary direct = BpeTrainer.train(BpeTrainer.countWords(text), 600);
    assertArrayEquals(direct.vocabBpe(), Files.readAllBytes(out.resolve("vocab.bpe")));
    assertArrayEquals(direct.encoderJson(), Files.readAllBytes(out.resolve("encoder.json")));

    Tokenizer tok = Tokenizers.load(out.toString());
    int[] ids = tok.encode(text);
    assertEquals(text, tok.decode(ids));
    assertTrue(ids.length < text.length() / 2, "merges compress the text: " + ids.length);
    assertNotEquals(Tokenizers.load("gpt2").hash(), tok.hash());

    Path shards = dir.resolve("shards");
    TokenizeConfig tc = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        List.of("seq_len=32", "split=tokens"), Map.of("input", List.of(VERDICT.toString()), "output",
            shards.toString(), "tokenizer", out.toString()), null);
    Manifest m = TokenizeJob.run(spark, tc, QUIET);
    assertEquals(tok.hash(), m.tokenizer().hash());
    assertEquals(600, m.tokenizer().vocabSize());
    assertEquals(ids.length + 1, m.totalTokens());
    ShardReader.open(shards.toString(), HadoopConf.create()).checkTokenizer(tok);
  }
}
