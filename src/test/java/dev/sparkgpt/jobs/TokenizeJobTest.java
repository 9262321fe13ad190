package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkGptException;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.BlockPacker;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.Pieces;
import dev.sparkgpt.data.ShardFormatException;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import dev.sparkgpt.io.HadoopConf;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeJobTest extends SparkTestBase {
  private static final Path VERDICT = Path.of("src/main/resources/data/corpora/the-verdict.txt");
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private final Tokenizer gpt2 = Tokenizers.load("gpt2");

  private static TokenizeConfig config(Path out, List<String> input, String... overrides) {
    List<String> sets = new ArrayList<>(List.of(overrides));
    return ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null, sets,
        Map.of("input", input, "output", out.toString()), null);
  }

  /** The token stream of a split, rebuilt from its rows (rows overlap by one token). */
  private static List<Integer> stream(ShardReader reader, String split) {
    List<Integer> ids = new ArrayList<>();
    for (ShardReader.ShardRow row : reader.readRows(split, -1)) {
      assertEquals(ids.isEmpty() ? 0 : ids.size() - 1, row.offset());
      for (int i = ids.isEmpty() ? 0 : 1; i < row.length(); i++) {
        ids.add(row.tokens()[i]);
      }
    }
    return ids;
  }

  private static List<Integer> list(int[] ids) {
    List<Integer> l = new ArrayList<>(ids.length);
    for (int id : ids) {
      l.add(id);
    }
    return l;
  }

  @Test
  void singleTextSplitByTokensReproducesTheWholeEncoding(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("verdict");
    // small pieces so the text is cut and encoded in parallel: ids must not change
    TokenizeConfig c = config(out, List.of(VERDICT.toString()), "seq_len=32", "split=tokens", "val_fraction=0.1",
        "chunk_chars=1024");
    Manifest m = TokenizeJob.run(spark, c, QUIET);

    List<Integer> expected = list(gpt2.encode(Files.readString(VERDICT)));
    expected.add(gpt2.eotId());
    long val = Math.round(expected.size() * 0.1);
    assertEquals(expected.size(), m.totalTokens());
    assertEquals(expected.size() - val, m.splits().get("train").tokens());
    assertEquals(val, m.splits().get("val").tokens());
    assertEquals(BlockPacker.rowCount(expected.size() - val, 32), m.splits().get("train").rows());
    assertEquals(gpt2.hash(), m.tokenizer().hash());
    assertEquals(33, m.rowTokens());

    ShardReader reader = ShardReader.open(out.toString(), HadoopConf.create());
    List<Integer> train = stream(reader, "train");
    List<Integer> valIds = stream(reader, "val");
    assertEquals(expected.subList(0, (int) (expected.size() - val)), train);
    assertEquals(expected.subList((int) (expected.size() - val), expected.size()), valIds);
    assertTrue(Files.exists(out.resolve("_SUCCESS")));
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(out), files.toList(), "no staging directory left behind");
    }
  }

  @Test
  void mixedFormatsDeduplicateAndSplitByDocumentHash(@TempDir Path dir) throws IOException {
    Path in = Files.createDirectories(dir.resolve("in"));
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      texts.add("Document number " + i + " says hello to the world, " + "and more words ".repeat(i % 5));
    }
    StringBuilder jsonl = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      jsonl.append("{\"id\": ").append(i).append(", \"text\": \"").append(texts.get(i)).append("\"}\n");
    }
    jsonl.append("{\"text\": \"").append(texts.get(3)).append("\"}\n"); // a duplicate
    jsonl.append("{\"text\": \"x\"}\n"); // too short
    Files.writeString(in.resolve("a.jsonl"), jsonl);
    try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(in.resolve("b.txt.gz")))) {
      gz.write(String.join("\n@@@\n", texts.subList(20, 30)).getBytes(StandardCharsets.UTF_8));
    }
    List<org.apache.spark.sql.Row> rows = new ArrayList<>();
    for (String t : texts.subList(30, 40)) {
      rows.add(RowFactory.create(t, 1));
    }
    StructType schema = new StructType().add("text", DataTypes.StringType).add("n", DataTypes.IntegerType);
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(in.resolve("c.parquet").toString());

    Path out = dir.resolve("out");
    TokenizeConfig c = config(out, List.of(in.toString()), "seq_len=16", "split=documents", "val_fraction=0.3",
        "doc_separator=@@@", "min_chars=5");
    Manifest m = TokenizeJob.run(spark, c, QUIET);
    assertEquals(42, m.documentsRead());
    assertEquals(1, m.droppedDuplicates());
    assertEquals(1, m.droppedShort());
    assertEquals(3, m.inputFiles());

    long expectedVal = 0;
    long expectedTokens = 0;
    Set<String> valTexts = new HashSet<>();
    for (String t : texts) {
      int split = Pieces.splitOf(Pieces.contentHash(t)[0], 1337, 0.3);
      expectedTokens += gpt2.encode(t).length + 1;
      if (split == BlockPacker.VAL) {
        expectedVal++;
        valTexts.add(t);
      }
    }
    assertTrue(expectedVal > 3 && expectedVal < 37, "a 30% split of 40 documents");
    assertEquals(expectedVal, m.splits().get("val").documents());
    assertEquals(40 - expectedVal, m.splits().get("train").documents());
    assertEquals(expectedTokens, m.totalTokens());

    // the val stream is exactly the val documents in input order, each followed by <|endoftext|>
    List<Integer> expectedValIds = new ArrayList<>();
    for (String t : texts) {
      if (valTexts.contains(t)) {
        expectedValIds.addAll(list(gpt2.encode(t)));
        expectedValIds.add(gpt2.eotId());
      }
    }
    assertEquals(expectedValIds, stream(ShardReader.open(out.toString(), HadoopConf.create()), "val"));
  }

  @Test
  void rerunIsANoOpAndOverwriteReplaces(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("out");
    TokenizeConfig c = config(out, List.of(VERDICT.toString()), "seq_len=64");
    TokenizeJob.run(spark, c, QUIET);
    long before = Files.getLastModifiedTime(out.resolve("manifest.json")).toMillis();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    TokenizeJob.run(spark, c, new PrintStream(console, true, StandardCharsets.UTF_8));
    assertTrue(console.toString(StandardCharsets.UTF_8).contains("already complete"));
    assertEquals(before, Files.getLastModifiedTime(out.resolve("manifest.json")).toMillis());

    Manifest m = TokenizeJob.run(spark, config(out, List.of(VERDICT.toString()), "seq_len=32", "overwrite=true"),
        QUIET);
    assertEquals(32, m.seqLen());
    assertEquals(32, ShardReader.open(out.toString(), HadoopConf.create()).manifest().seqLen());
  }

  private static void assertFailsWithoutOutput(Path dir, Path out, TokenizeConfig c, String... fragments) {
    RuntimeException e = assertThrows(RuntimeException.class, () -> TokenizeJob.run(spark, c, QUIET));
    assertTrue(e instanceof SparkGptException, "expected a SparkGPT error, got " + e);
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), "message lacks '" + f + "': " + e.getMessage());
    }
    assertFalse(Files.exists(out), "no output left behind");
    try (Stream<Path> files = Files.list(dir)) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".staging-")), "no staging left");
    } catch (IOException ex) {
      throw new AssertionError(ex);
    }
  }

  @Test
  void missingInputIsNamed(@TempDir Path dir) {
    Path out = dir.resolve("out");
    assertFailsWithoutOutput(dir, out, config(out, List.of(dir.resolve("nope.txt").toString())), "nope.txt",
        "not found");
  }

  @Test
  void emptyInputIsRejected(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("empty.txt"), "");
    Path out = dir.resolve("out");
    assertFailsWithoutOutput(dir, out, config(out, List.of(dir.resolve("empty.txt").toString())),
        "no documents left", "empty.txt");
  }

  @Test
  void unreadableGzipIsNamed(@TempDir Path dir) throws IOException {
    Files.write(dir.resolve("bad.txt.gz"), "this is not gzip".getBytes(StandardCharsets.UTF_8));
    Path out = dir.resolve("out");
    assertFailsWithoutOutput(dir, out, config(out, List.of(dir.resolve("bad.txt.gz").toString())), "bad.txt.gz",
        "gzip");
  }

  @Test
  void invalidJsonLineIsNamedWithItsNumber(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("d.jsonl"), "{\"text\": \"ok\"}\n{\"text\": broken\n");
    Path out = dir.resolve("out");
    assertFailsWithoutOutput(dir, out, config(out, List.of(dir.resolve("d.jsonl").toString())), "d.jsonl:2",
        "invalid JSON");
  }

  @Test
  void missingTextFieldIsNamed(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("d.jsonl"), "{\"body\": \"ok\"}\n");
    Path out = dir.resolve("out");
    assertFailsWithoutOutput(dir, out, config(out, List.of(dir.resolve("d.jsonl").toString())), "d.jsonl:1",
        "no field \"text\"", "body");
  }

  @Test
  void missingParquetColumnIsNamed(@TempDir Path dir) {
    StructType schema = new StructType().add("body", DataTypes.StringType);
    spark.createDataFrame(List.of(RowFactory.create("hello")), schema).write()
        .parquet(dir.resolve("p.parquet").toString());
    Path out = dir.resolve("out");
    assertFailsWithoutOutput(dir, out, config(out, List.of(dir.resolve("p.parquet").toString())), "p.parquet",
        "no column \"text\"", "body");
  }

  @Test
  void outputThatIsNotOursIsRefused(@TempDir Path dir) throws IOException {
    Path out = Files.createDirectories(dir.resolve("precious"));
    Files.writeString(out.resolve("thesis.tex"), "do not delete");
    InputException e = assertThrows(InputException.class, () -> TokenizeJob.run(spark,
        config(out, List.of(VERDICT.toString()), "overwrite=true"), QUIET));
    assertTrue(e.getMessage().contains("precious") && e.getMessage().contains("not a finished SparkGPT output"));
    assertTrue(Files.exists(out.resolve("thesis.tex")));
  }

  @Test
  void corruptShardAndForeignTokenizerAreNamedWhenReadBack(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("out");
    Manifest m = TokenizeJob.run(spark, config(out, List.of(VERDICT.toString()), "seq_len=64"), QUIET);
    String shard = m.splits().get("train").shards().get(0).path();
    Path file = out.resolve(shard);
    byte[] bytes = Files.readAllBytes(file);
    for (int i = 100; i < bytes.length - 100; i++) {
      bytes[i] = (byte) (bytes[i] ^ 0x5a);
    }
    Files.write(file, bytes);
    ShardReader reader = ShardReader.open(out.toString(), HadoopConf.create());
    ShardFormatException e = assertThrows(ShardFormatException.class, () -> reader.readRows("train", -1));
    assertTrue(e.getMessage().contains(file.getFileName().toString()), e.getMessage());

    String manifest = Files.readString(out.resolve("manifest.json"));
    Files.writeString(out.resolve("manifest.json"), manifest.replace(gpt2.hash(), "0".repeat(64)));
    ShardFormatException h = assertThrows(ShardFormatException.class,
        () -> ShardReader.open(out.toString(), HadoopConf.create()).checkTokenizer(gpt2));
    assertTrue(h.getMessage().contains("manifest.json") && h.getMessage().contains("tokenizer"), h.getMessage());
  }

  @Test
  void incompleteOutputIsRefusedByTheReader(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("out");
    TokenizeJob.run(spark, config(out, List.of(VERDICT.toString()), "seq_len=64"), QUIET);
    Files.delete(out.resolve("_SUCCESS"));
    ShardFormatException e = assertThrows(ShardFormatException.class,
        () -> ShardReader.open(out.toString(), HadoopConf.create()));
    assertTrue(e.getMessage().contains("did not finish"), e.getMessage());
  }
}
