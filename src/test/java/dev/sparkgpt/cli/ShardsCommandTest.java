package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.jobs.TokenizeJob;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sparkgpt shards inspect --doc-lengths [--json]} on a tokenize output of documents with known lengths. */
class ShardsCommandTest extends SparkTestBase {
  /** Five documents of different lengths; rows of 8 tokens, so most documents cross a row boundary. */
  private static final List<String> DOCUMENTS = List.of("The cat sat.", "A dog ran far away from the red barn.",
      "Hello world", "Spark shards hold tokens between separators, one document after another, row after row.",
      "Short.");
  @TempDir
  static Path dir;
  private static Path shards;
  /** The documents' token counts, shortest first. */
  private static int[] lengths;

  @BeforeAll
  static void tokenize() throws Exception {
    Path input = dir.resolve("docs.jsonl");
    StringBuilder jsonl = new StringBuilder();
    for (String doc : DOCUMENTS) {
      jsonl.append(JsonFiles.toJson(Map.of("text", doc)).replace("\n", "")).append('\n');
    }
    Files.writeString(input, jsonl);
    shards = dir.resolve("shards");
    TokenizeConfig config = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        List.of("seq_len=8", "split=tokens", "val_fraction=0", "format=jsonl"),
        Map.of("input", List.of(input.toString()), "output", shards.toString()), null);
    TokenizeJob.run(spark, config, new PrintStream(OutputStream.nullOutputStream()));
    Tokenizer gpt2 = Tokenizers.load("gpt2");
    lengths = DOCUMENTS.stream().mapToInt(d -> gpt2.encode(d).length).sorted().toArray();
  }

  private static String inspect(String... args) {
    PrintStream old = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      List<String> all = new java.util.ArrayList<>(List.of("shards", "inspect", shards.toString()));
      all.addAll(List.of(args));
      assertEquals(0, Main.commandLine().execute(all.toArray(String[]::new)));
      return out.toString(StandardCharsets.UTF_8);
    } finally {
      System.setOut(old);
    }
  }

  @Test
  void docLengthsPrintsTheLengthsOfTheDocumentsTokenized() {
    assertEquals(5, lengths.length);
    assertTrue(lengths[0] < lengths[4] && lengths[2] < lengths[4], Arrays.toString(lengths));
    String out = inspect("--doc-lengths", "--rows", "0");
    double mean = Arrays.stream(lengths).average().orElseThrow();
    String expected = String.format(Locale.ROOT, "  train document lengths: 5 documents | min %d | median %d | "
        + "mean %.1f | p90 %d | max %d tokens%n", lengths[0], lengths[2], mean, lengths[4], lengths[4]);
    assertTrue(out.contains(expected), "expected " + expected + "in:\n" + out);
  }

  @Test
  void jsonGivesTheCountsOfEveryLength() throws Exception {
    JsonNode json = JsonFiles.MAPPER.readTree(inspect("--doc-lengths", "--json"));
    JsonNode train = json.at("/splits/train");
    assertEquals(Arrays.stream(lengths).sum() + 5, train.get("tokens").asLong(), "each document + its separator");
    assertEquals(5, train.get("documents").asLong());
    JsonNode doc = train.get("doc_lengths");
    assertEquals(5, doc.get("documents").asLong());
    assertEquals(lengths[0], doc.get("min").asInt());
    assertEquals(lengths[2], doc.get("median").asInt());
    assertEquals(lengths[4], doc.get("max").asInt());
    assertEquals(0, doc.get("unterminated_tokens").asInt());
    Map<String, Long> counts = new TreeMap<>();
    for (int length : lengths) {
      counts.merge(String.valueOf(length), 1L, Long::sum);
    }
    Map<String, Long> printed = new TreeMap<>();
    doc.get("length_counts").fields().forEachRemaining(e -> printed.put(e.getKey(), e.getValue().asLong()));
    assertEquals(counts, printed);
    assertEquals(50256, json.get("eot_id").asInt());
    assertEquals("tokens", json.get("split_mode").asText());
  }
}
