package dev.sparkgpt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

class ShardedSafetensorsTest {
  private static final String SHARD_1 = "model-00001-of-00002.safetensors";
  private static final String SHARD_2 = "model-00002-of-00002.safetensors";

  @TempDir
  Path dir;

  @BeforeEach
  void writeTwoShards() {
    new SafetensorsWriter().add("wte.weight", new float[] {1, 2, 3, 4}, new long[] {2, 2}, SafetensorsDtype.F32)
        .add("h.0.ln_1.weight", new float[] {0.5f, 0.25f}, new long[] {2}, SafetensorsDtype.BF16)
        .write(dir.resolve(SHARD_1));
    new SafetensorsWriter().add("ln_f.weight", new double[] {7, 8}, new long[] {2}, SafetensorsDtype.F64)
        .add("step", new long[] {42}, new long[] {}, SafetensorsDtype.I64)
        .write(dir.resolve(SHARD_2));
  }

  private Path index(String weightMap) throws Exception {
    return Files.writeString(dir.resolve(SafetensorsReader.INDEX_FILE),
        "{\"metadata\": {\"total_size\": 44, \"format\": \"pt\"}, \"weight_map\": {" + weightMap + "}}");
  }

  private Path fullIndex() throws Exception {
    return index("\"wte.weight\": \"" + SHARD_1 + "\", \"h.0.ln_1.weight\": \"" + SHARD_1 + "\", "
        + "\"ln_f.weight\": \"" + SHARD_2 + "\", \"step\": \"" + SHARD_2 + "\"");
  }

  private static void assertMentions(Exception e, String... fragments) {
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), () -> "expected \"" + fragment + "\" in: " + e.getMessage());
    }
  }

  @Test
  void readsShardsAsOneSetOfTensors() throws Exception {
    Path index = fullIndex();
    try (ShardedSafetensors sharded = ShardedSafetensors.open(index)) {
      assertEquals(List.of("h.0.ln_1.weight", "ln_f.weight", "step", "wte.weight"), List.copyOf(sharded.names()));
      assertEquals(Map.of("total_size", "44", "format", "pt"), sharded.metadata());
      assertArrayEquals(new float[] {1, 2, 3, 4}, sharded.readFloats("wte.weight"));
      assertArrayEquals(new long[] {2, 2}, sharded.info("wte.weight").shape());
      assertArrayEquals(new double[] {7, 8}, sharded.readDoubles("ln_f.weight"));
      assertArrayEquals(new float[] {0.5f, 0.25f}, sharded.readArray("h.0.ln_1.weight").toFloatVector());
      assertEquals(DataType.BFLOAT16, sharded.readArray("h.0.ln_1.weight").dataType());
      assertArrayEquals(new long[] {42}, sharded.readLongs("step"));
      assertTrue(sharded.shardOf("ln_f.weight").endsWith(SHARD_2));
      var missing = assertThrows(SafetensorsFormatException.class, () -> sharded.readFloats("lm_head.weight"));
      assertMentions(missing, SafetensorsReader.INDEX_FILE, "no tensor \"lm_head.weight\"",
          "4 tensors across 2 shards");
    }
  }

  @Test
  void readerOpenFindsTheIndexOrTheSingleFileInADirectory() throws Exception {
    fullIndex();
    try (SafetensorsReader reader = SafetensorsReader.open(dir)) {
      assertInstanceOf(ShardedSafetensors.class, reader);
      assertEquals(4, reader.names().size());
    }
    Path single = Files.createDirectory(dir.resolve("single"));
    new SafetensorsWriter().add("a", new int[] {3}, new long[] {1}, SafetensorsDtype.I32)
        .write(single.resolve(SafetensorsReader.MODEL_FILE));
    try (SafetensorsReader reader = SafetensorsReader.open(single)) {
      assertInstanceOf(SafetensorsFile.class, reader);
      assertArrayEquals(new int[] {3}, reader.readInts("a"));
    }
    Path empty = Files.createDirectory(dir.resolve("empty"));
    var e = assertThrows(InputException.class, () -> SafetensorsReader.open(empty));
    assertMentions(e, "empty", "neither model.safetensors.index.json nor model.safetensors");
  }

  @Test
  void readsAShardedCheckpointThroughAHadoopFileUri() throws Exception {
    fullIndex();
    var hadoopDir = new org.apache.hadoop.fs.Path(dir.toUri());
    try (SafetensorsReader reader = SafetensorsReader.open(hadoopDir, new Configuration())) {
      assertInstanceOf(ShardedSafetensors.class, reader);
      assertTrue(reader.source().startsWith("file:"), reader.source());
      assertArrayEquals(new float[] {1, 2, 3, 4}, reader.readFloats("wte.weight"));
      assertArrayEquals(new long[] {42}, reader.readLongs("step"));
    }
  }

  @Test
  void namesEveryMissingShardFileAndATensorThatNeedsIt() throws Exception {
    Path index = index("\"wte.weight\": \"" + SHARD_1 + "\", \"a\": \"model-00003.safetensors\", "
        + "\"b\": \"model-00004.safetensors\", \"c\": \"model-00004.safetensors\"");
    var e = assertThrows(InputException.class, () -> ShardedSafetensors.open(index));
    assertMentions(e, SafetensorsReader.INDEX_FILE, "2 of 3 shard files named in weight_map are missing",
        "model-00003.safetensors (needed for tensor \"a\")", "model-00004.safetensors (needed for tensor \"b\")");
    var hadoop = assertThrows(InputException.class,
        () -> ShardedSafetensors.open(new org.apache.hadoop.fs.Path(index.toUri()), new Configuration()));
    assertMentions(hadoop, "file:", "model-00003.safetensors (needed for tensor \"a\")");
  }

  @Test
  void rejectsAnIndexPlacingATensorInAShardThatLacksIt() throws Exception {
    Path index = index("\"wte.weight\": \"" + SHARD_2 + "\"");
    var e = assertThrows(SafetensorsFormatException.class, () -> ShardedSafetensors.open(index));
    assertMentions(e, SafetensorsReader.INDEX_FILE, "puts tensor \"wte.weight\" in " + SHARD_2,
        SHARD_2 + " holds no such tensor");
  }

  @Test
  void rejectsMalformedIndexes() throws Exception {
    Path path = dir.resolve(SafetensorsReader.INDEX_FILE);
    Files.writeString(path, "{\"weight_map\": {\"a\": ");
    assertMentions(assertThrows(SafetensorsFormatException.class, () -> ShardedSafetensors.open(path)),
        SafetensorsReader.INDEX_FILE, "index is not valid JSON");
    Files.writeString(path, "{\"metadata\": {}}");
    assertMentions(assertThrows(SafetensorsFormatException.class, () -> ShardedSafetensors.open(path)),
        SafetensorsReader.INDEX_FILE, "\"weight_map\" is missing");
    Files.writeString(path, "{\"weight_map\": {\"a\": \"../elsewhere/model.safetensors\"}}");
    assertMentions(assertThrows(SafetensorsFormatException.class, () -> ShardedSafetensors.open(path)),
        SafetensorsReader.INDEX_FILE, "maps tensor \"a\" to \"../elsewhere/model.safetensors\"",
        "expected the name of a file next to the index");
    Files.writeString(path, "{\"weight_map\": {\"a\": 3}}");
    assertMentions(assertThrows(SafetensorsFormatException.class, () -> ShardedSafetensors.open(path)),
        "maps tensor \"a\" to 3");
    var absent = assertThrows(InputException.class, () -> ShardedSafetensors.open(dir.resolve("none.index.json")));
    assertMentions(absent, "none.index.json", "no such file");
  }
}
