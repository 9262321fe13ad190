package dev.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.io.InputException;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading by spec, directory, bytes and streams; the per-JVM cache; equal vocabularies from different sources. */
class TokenizersTest {
  private static final byte[] ENCODER = ReferenceBpe.resource("/data/tokenizer/encoder.json");
  private static final byte[] MERGES = ReferenceBpe.resource("/data/tokenizer/vocab.bpe");

  private static Path gpt2Files(Path parent) throws Exception {
    Path dir = Files.createDirectories(parent.resolve("gpt2-files"));
    Files.write(dir.resolve("encoder.json"), ENCODER);
    Files.write(dir.resolve("vocab.bpe"), MERGES);
    return dir;
  }

  @Test
  void gpt2SpecGivesTheBuiltInOncePerJvm() {
    assertSame(Tokenizers.gpt2(), Tokenizers.load("gpt2"));
    assertSame(Tokenizers.gpt2(), Tokenizers.load("r50k_base"));
  }

  @Test
  void gpt2LoadedFromItsFilesEqualsTheBuiltIn(@TempDir Path tmp) throws Exception {
    Tokenizer files = Tokenizers.load(gpt2Files(tmp).toString());
    Tokenizer builtIn = Tokenizers.gpt2();
    assertEquals("gpt2-files", files.name());
    assertEquals(builtIn.hash(), files.hash());
    assertEquals(50257, files.vocabSize());
    assertEquals(50256, files.eotId());
    for (String corpus : new String[] {"/data/corpora/the-verdict.txt", "/data/corpora/tinyshakespeare.txt"}) {
      String text = ReferenceBpe.text(corpus);
      assertArrayEquals(builtIn.encode(text), files.encode(text), corpus);
    }
    String special = "a<|endoftext|>b";
    assertArrayEquals(builtIn.encodeWithSpecial(special), files.encodeWithSpecial(special));
  }

  @Test
  void cachesADirectoryUntilItsFilesChange(@TempDir Path tmp) throws Exception {
    Path dir = gpt2Files(tmp);
    Tokenizer first = Tokenizers.load(dir.toString());
    assertSame(first, Tokenizers.load(dir.resolve(".").toString())); // same directory, other spelling
    // Rewrite with a small trained vocabulary: the cache must not hand back GPT-2.
    BpeVocabulary small = BpeTrainer.train(BpeTrainer.countWords("low lower lowest"), 260);
    small.writeTo(dir);
    Files.setLastModifiedTime(dir.resolve("encoder.json"), FileTime.fromMillis(1_000_000));
    Tokenizer second = Tokenizers.load(dir.toString());
    assertNotSame(first, second);
    assertEquals(260, second.vocabSize());
    assertEquals(small.hash(), second.hash());
  }

  @Test
  void fromBytesAndStreamsAreCachedByContentAndNamed() throws Exception {
    Tokenizer a = Tokenizers.fromBytes("shipped", ENCODER.clone(), MERGES.clone());
    assertSame(a, Tokenizers.fromBytes("shipped", ENCODER.clone(), MERGES.clone()));
    assertEquals("shipped", a.name());
    assertEquals(Tokenizers.gpt2().hash(), a.hash());
    Tokenizer unnamed = Tokenizers.fromStreams(null, new ByteArrayInputStream(ENCODER),
        new ByteArrayInputStream(MERGES));
    assertEquals("bpe-50257", unnamed.name());
    assertArrayEquals(Tokenizers.gpt2().encode("Every effort moves you"), unnamed.encode("Every effort moves you"));
  }

  @Test
  void vocabulariesThatDifferHashDifferently() {
    Map<String, Long> words = BpeTrainer.countWords("the cat sat on the mat with the hat");
    BpeVocabulary v1 = BpeTrainer.train(words, 262);
    BpeVocabulary v2 = BpeTrainer.train(words, 263);
    assertNotEquals(v1.hash(), v2.hash());
    assertEquals(v1.hash(), Tokenizers.fromVocabulary("t", v1).hash());
    assertEquals(v1.hash(), Tokenizers.fromBytes("other-name", v1.encoderJson(), v1.vocabBpe()).hash());
    assertEquals(64, v1.hash().length());
  }

  @Test
  void rejectsMissingDirectoriesAndFilesWithTheFix(@TempDir Path tmp) throws Exception {
    String missing = tmp.resolve("no-such-tokenizer").toString();
    var e = assertThrows(InputException.class, () -> Tokenizers.load(missing));
    assertTrue(e.getMessage().contains(missing) && e.getMessage().contains("'gpt2'"), e.getMessage());
    Path half = Files.createDirectories(tmp.resolve("half"));
    Files.write(half.resolve("vocab.bpe"), MERGES);
    var f = assertThrows(InputException.class, () -> Tokenizers.load(half.toString()));
    assertTrue(f.getMessage().contains(half.resolve("encoder.json").toString()), f.getMessage());
    var g = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(" "));
    assertTrue(g.getMessage().contains("gpt2"), g.getMessage());
    var h = assertThrows(InputException.class, () -> Tokenizers.fromBytes("broken", "{}".getBytes(), MERGES));
    assertTrue(h.getMessage().startsWith("broken/encoder.json: "), h.getMessage());
  }
}
