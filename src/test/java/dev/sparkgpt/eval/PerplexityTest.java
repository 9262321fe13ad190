package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.ShardReader.ShardRow;
import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PerplexityTest {
  private static final Tokenizer GPT2 = Tokenizers.load("gpt2");
  private static final int EOT = 50256;

  private static int[] range(int from, int to) {
    int[] ids = new int[to - from];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = from + i;
    }
    return ids;
  }

  private static void assertRequest(int[] context, int[] continuation, Request actual) {
    assertArrayEquals(context, actual.context());
    assertArrayEquals(continuation, actual.continuation());
  }

  @Test
  void nonOverlappingWindowsScoreEveryTargetOnce() {
    int[] tokens = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0, 0}; // 10 real tokens, then padding
    List<Request> w = Perplexity.windows(tokens, 10, 4, 4);
    assertEquals(3, w.size());
    assertRequest(new int[] {10}, range(11, 15), w.get(0));
    assertRequest(new int[] {14}, range(15, 19), w.get(1));
    assertRequest(range(15, 19), new int[] {19}, w.get(2)); // the short last chunk sees a full context
  }

  @Test
  void aSmallerStrideGivesTargetsMoreContext() {
    List<Request> w = Perplexity.windows(range(10, 20), 10, 4, 2);
    assertEquals(5, w.size());
    assertRequest(new int[] {10}, new int[] {11, 12}, w.get(0));
    assertRequest(new int[] {10, 11, 12}, new int[] {13, 14}, w.get(1));
    assertRequest(new int[] {12, 13, 14}, new int[] {15, 16}, w.get(2));
    assertRequest(new int[] {14, 15, 16}, new int[] {17, 18}, w.get(3));
    assertRequest(range(15, 19), new int[] {19}, w.get(4));
    for (Request r : w) {
      assertTrue(r.length() <= 5, "never more than context + 1 tokens");
    }
    assertEquals(0, Perplexity.windows(new int[] {5}, 1, 4, 4).size(), "one token: nothing to predict");
  }

  @Test
  void uniformModelHasPerplexityVocabSizeAndBitsPerByteByHand(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("hello.txt");
    Files.writeString(file, "Hello world"); // [15496, 995]: 2 tokens, 11 bytes
    PerplexityResult r = Perplexity.evaluate(file.toString(), "val", -1, 0, GPT2, new TestModels.Uniform(50257, 8),
        new LocalRunner(new TestModels.Uniform(50257, 8), 4), HadoopConf.create());
    assertEquals(2, r.tokens());
    assertEquals(11, r.bytes());
    assertEquals(Math.log(50257), r.meanNll(), 1e-15);
    assertEquals(50257, r.perplexity(), 50257 * 1e-15); // exp(ln 50257) is 50257 to the last bits of a double
    assertEquals(2 * (Math.log(50257) / Math.log(2)) / 11, r.bitsPerByte(), 1e-15);
    assertEquals("text", r.kind());
    assertNull(r.split());
  }

  @Test
  void longTextIsWindowedAndStillScoresEachTokenOnce(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("verdict.txt");
    String text = Files.readString(Path.of("src/main/resources/data/corpora/the-verdict.txt")).substring(0, 3000);
    Files.writeString(file, text);
    TestModels.Uniform model = new TestModels.Uniform(50257, 16);
    PerplexityResult r = Perplexity.evaluate(file.toString(), "val", -1, 5, GPT2, model, new LocalRunner(model, 8),
        HadoopConf.create());
    assertEquals(GPT2.encode(text).length, r.tokens());
    assertEquals(text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, r.bytes());
    assertEquals(50257, r.perplexity(), 50257 * 1e-12);
  }

  @Test
  void shardRowsBitsPerByteByHand() {
    // ids 0, 1, 2 are the one-byte texts "!", "\"", "#"; p(0) = 1/2, p(1) = 1/4, p(2) = 1/8, p(eot) = 1/8
    TestModels.Unigram model = new TestModels.Unigram(50257, 8, Map.of(0, 0.5, 1, 0.25, 2, 0.125, EOT, 0.125));
    List<ShardRow> rows = List.of(
        new ShardRow(new int[] {0, 1, 2, EOT, 0, 0}, 5, 0, 0),  // targets 1, 2, eot, 0 (the last 0 is padding)
        new ShardRow(new int[] {0, 2, 2, 0, 0, 0}, 3, 1, 4));   // targets 2, 2
    PerplexityResult r = Perplexity.rows(rows, 4, GPT2, model, new LocalRunner(model, 2), System.nanoTime(), "x",
        "val");
    // NLL = ln 4 + ln 8 + ln 8 + ln 2 + ln 8 + ln 8 = 15 ln 2 = 15 bits over 6 tokens;
    // bytes: targets cut at eot → "\"#" (2) and "!##" (3) = 5; eot counts 0 bytes
    assertEquals(6, r.tokens());
    assertEquals(5, r.bytes());
    assertEquals(15.0 / 5, r.bitsPerByte(), 1e-6);
    assertEquals(2.5 * Math.log(2), r.meanNll(), 1e-6);
    assertEquals(Math.pow(2, 2.5), r.perplexity(), 1e-6);
  }

  @Test
  void aCharacterSplitAcrossTokensCountsItsRealBytes() {
    // "a😀b" = [64, 47249, 222, 65]: the emoji's 4 bytes span two tokens, each alone decodes to U+FFFD
    List<ShardRow> rows = new ArrayList<>();
    rows.add(new ShardRow(new int[] {EOT, 64, 47249}, 3, 0, 0));
    rows.add(new ShardRow(new int[] {47249, 222, 65}, 3, 0, 2));
    assertEquals(1 + 4 + 1, Perplexity.shardTargetBytes(rows, GPT2));
  }

  @Test
  void refusesAStrideLongerThanTheContextAndUnknownInputs(@TempDir Path dir) throws IOException {
    TestModels.Uniform model = new TestModels.Uniform(50257, 8);
    Path file = dir.resolve("a.txt");
    Files.writeString(file, "Hello");
    var e = assertThrows(ConfigException.class, () -> Perplexity.evaluate(file.toString(), "val", -1, 9, GPT2, model,
        new LocalRunner(model, 1), HadoopConf.create()));
    assertTrue(e.getMessage().startsWith("perplexity_stride: 9 is outside 0..8"), e.getMessage());
    Path csv = Files.writeString(dir.resolve("a.csv"), "x");
    var bad = assertThrows(InputException.class, () -> Perplexity.evaluate(csv.toString(), "val", -1, 0, GPT2, model,
        new LocalRunner(model, 1), HadoopConf.create()));
    assertTrue(bad.getMessage().startsWith(csv + ": cannot measure perplexity on this file"), bad.getMessage());
    var missing = assertThrows(InputException.class, () -> Perplexity.evaluate(dir.resolve("nope").toString(), "val",
        -1, 0, GPT2, model, new LocalRunner(model, 1), HadoopConf.create()));
    assertTrue(missing.getMessage().endsWith("nope: not found. Fix: pass the --output of sparkgpt tokenize, or a .txt "
        + "file"), missing.getMessage());
  }
}
