package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.checkpoint.Fingerprints;
import dev.sparkgpt.checkpoint.CheckpointConversion;
import dev.sparkgpt.tokenizer.SentencePieceFixtures;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint's own tokenizer found (HF files, state.json record), refused when unknown or when another is given. */
class CheckpointTokenizerTest {
  private static final Path LLAMA = Path.of("src/test/resources/fixtures/llama-hf-tiny");
  private static final Path GPT2 = Path.of("src/test/resources/fixtures/gpt2-hf-tiny");
  private static final Path LLAMA3_JSON = Path.of("src/test/resources/tokenizer/hf/llama3-style-tokenizer.json");
  private final Configuration conf = HadoopConf.create();

  /** The Llama fixture (links to its files) with the Llama-3-style tokenizer.json and eos in tokenizer_config.json. */
  private static Path llamaWithTokenizer(Path tmp) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("llama3-like"));
    for (String f : new String[] {"config.json", "model.safetensors"}) {
      Files.createSymbolicLink(dir.resolve(f), LLAMA.resolve(f).toAbsolutePath());
    }
    Files.copy(LLAMA3_JSON, dir.resolve("tokenizer.json"));
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"<|end_of_text|>\"}}");
    return dir;
  }

  @Test
  void anHfDirectoryUsesItsOwnTokenizerJson(@TempDir Path tmp) throws Exception {
    Path dir = llamaWithTokenizer(tmp);
    Tokenizer tok = CheckpointTokenizer.resolve(dir.toString(), "auto", conf, "--tokenizer").get();
    assertEquals(603, tok.vocabSize());
    assertEquals(600, tok.eotId()); // <|end_of_text|>, from tokenizer_config.json
    assertEquals(tok.hash(), CheckpointTokenizer.resolve(dir.toString(), dir.toString(), conf, "--tokenizer").get()
        .hash());
    ConfigException other = assertThrows(ConfigException.class,
        () -> CheckpointTokenizer.resolve(dir.toString(), "gpt2", conf, "--tokenizer"));
    assertEquals("--tokenizer: gpt2 (hash " + Tokenizers.gpt2().hash().substring(0, 12) + "…) is another tokenizer "
        + "than the one " + dir + " was made with (hash " + tok.hash().substring(0, 12) + "…). Fix: leave --tokenizer"
        + " unset (or 'auto') to use the checkpoint's own", other.getMessage(), "a verb without the override "
        + "(eval, convert) offers none");
    ConfigException offered = assertThrows(ConfigException.class,
        () -> CheckpointTokenizer.resolve(dir.toString(), "gpt2", conf, "--tokenizer", false));
    assertTrue(offered.getMessage().endsWith("; or accept the mismatch knowingly with "
        + Fingerprints.ALLOW_TOKENIZER), offered.getMessage());
    assertEquals(Tokenizers.gpt2().hash(),
        CheckpointTokenizer.resolve(dir.toString(), "gpt2", conf, "--tokenizer", true).get().hash());
  }

  @Test
  void anHfLlamaWithoutTokenizerFilesIsRefusedAndGpt2IsGpt2() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> CheckpointTokenizer.resolve(LLAMA.toString(), "auto", conf, "--tokenizer"));
    assertEquals("--tokenizer: " + LLAMA + " holds no tokenizer files (none of tokenizer.json, tokenizer.model, "
        + "vocab.json + merges.txt, or encoder.json + vocab.bpe), so its tokenizer is unknown. Fix: pass --tokenizer "
        + "with the model's tokenizer: a bundled name ('gpt2', 'cl100k_base', 'o200k_base') or a directory holding "
        + "tokenizer.json, tokenizer.model, vocab.json + merges.txt, or encoder.json + vocab.bpe", e.getMessage());
    assertEquals(Tokenizers.gpt2().hash(),
        CheckpointTokenizer.resolve(GPT2.toString(), "auto", conf, "--tokenizer").get().hash());
    // given by hand, a tokenizer nothing contradicts is taken as it is
    assertEquals(100277, CheckpointTokenizer.resolve(LLAMA.toString(), "cl100k_base", conf, "x").get().vocabSize());
  }

  @Test
  void aLlama2DirectoryReadsItsSentencePieceModel(@TempDir Path tmp) throws Exception {
    Path dir = SentencePieceFixtures.llama2Directory(tmp);
    Tokenizer tok = CheckpointTokenizer.resolve(dir.toString(), "auto", conf, "--tokenizer").get();
    assertEquals(Tokenizers.fromSentencePiece("x", Files.readAllBytes(SentencePieceFixtures.LLAMA2_STYLE)).hash(), tok.hash());
    assertEquals(1200, tok.vocabSize());
    assertEquals(2, tok.eotId());
    String run = tmp.resolve("run").toString();
    CheckpointConversion.hfToSparkGpt(dir.toString(), run);
    assertEquals(tok.hash(), CheckpointTokenizer.resolve(run, null, conf, "--tokenizer").get().hash());
    assertThrows(ConfigException.class, () -> CheckpointTokenizer.resolve(run, "gpt2", conf, "--tokenizer"));
  }

  @Test
  void aConvertedRunFindsTheTokenizerItCameWith(@TempDir Path tmp) throws Exception {
    Path dir = llamaWithTokenizer(tmp);
    String run = tmp.resolve("run").toString();
    CheckpointConversion.hfToSparkGpt(dir.toString(), run);
    Tokenizer tok = CheckpointTokenizer.resolve(run, null, conf, "--tokenizer").get();
    assertEquals(603, tok.vocabSize());
    assertEquals(CheckpointTokenizer.resolve(dir.toString(), "auto", conf, "--tokenizer").get().hash(), tok.hash());
    assertThrows(ConfigException.class, () -> CheckpointTokenizer.resolve(run, "o200k_base", conf, "--tokenizer"));
  }
}
