package dev.sparkgpt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Reading the bundled Hugging Face fixtures and the reader API. Expected weights were read from the files with
 * Python's struct module; expected logits come from each fixture's reference.json.
 */
class SafetensorsFileTest {
  private static final Path GPT2 = TestFiles.fixture("gpt2-hf-tiny/model.safetensors");
  private static final Path GPT2_LOGITS = TestFiles.fixture("gpt2-hf-tiny/reference-logits.safetensors");
  private static final Path LLAMA = TestFiles.fixture("llama-hf-tiny/model.safetensors");
  private static final Path LLAMA_LOGITS = TestFiles.fixture("llama-hf-tiny/reference-logits.safetensors");

  @TempDir
  Path dir;

  @Test
  void readsGpt2FixtureNamesShapesMetadataAndValues() {
    try (SafetensorsFile file = SafetensorsFile.open(GPT2)) {
      assertEquals(30, file.names().size());
      assertEquals("h.0.attn.bias", file.names().iterator().next(), "names are sorted");
      assertEquals(Map.of("format", "pt"), file.metadata());
      TensorInfo wte = file.info("wte.weight");
      assertEquals(SafetensorsDtype.F32, wte.dtype());
      assertArrayEquals(new long[] {50257, 64}, wte.shape());
      assertEquals(0, wte.dataBegin());
      assertEquals(12865792, wte.dataEnd());
      assertArrayEquals(new long[] {64, 192}, file.info("h.0.attn.c_attn.weight").shape());
      assertArrayEquals(new long[] {1, 1, 128, 128}, file.info("h.1.attn.bias").shape());

      float[] embedding = file.readFloats("wte.weight");
      assertEquals(50257 * 64, embedding.length);
      assertEquals(0.06911683827638626f, embedding[0]);
      assertEquals(0.164323627948761f, embedding[1]);
      assertEquals(0.06608741730451584f, embedding[2]);
      assertEquals(-0.39512571692466736f, embedding[50256 * 64 + 63]);
      assertEquals(-0.16407760977745056f, file.readFloats("h.1.attn.c_attn.weight")[63 * 192 + 191]);
      assertArrayEquals(new float[] {0.8454807996749878f, 0.9595935344696045f},
          file.readFloats("ln_f.weight", 0, 2));
      float[] mask = file.readFloats("h.0.attn.bias");
      assertArrayEquals(new float[] {1, 0, 1, 1}, new float[] {mask[0], mask[1], mask[128], mask[129]});
      assertEquals(0.8454807996749878, file.readDoubles("ln_f.weight")[0], 0.0);
    }
  }

  @Test
  void readsLlamaFixtureNamesShapesAndValues() {
    try (SafetensorsFile file = SafetensorsFile.open(LLAMA)) {
      assertEquals(21, file.names().size());
      assertArrayEquals(new long[] {32, 64}, file.info("model.layers.0.self_attn.k_proj.weight").shape());
      assertArrayEquals(new long[] {64, 160}, file.info("model.layers.1.mlp.down_proj.weight").shape());
      assertArrayEquals(new float[] {-0.4068334400653839f, -0.18289890885353088f},
          file.readFloats("model.embed_tokens.weight", 64, 2));
      assertEquals(-0.3326566517353058f, file.readFloats("lm_head.weight")[31999 * 64 + 63]);
      assertEquals(0.9321593046188354f, file.readFloats("model.norm.weight")[0]);
    }
  }

  @Test
  void gpt2ReferenceLogitsAgreeWithReferenceJson() throws Exception {
    JsonNode reference = new ObjectMapper().readTree(TestFiles.fixture("gpt2-hf-tiny/reference.json").toFile());
    try (SafetensorsFile file = SafetensorsFile.open(GPT2_LOGITS)) {
      assertArrayEquals(new long[] {13, 50257}, file.info("logits").shape());
      assertArrayEquals(ints(reference.get("input_ids")), toInts(file.readFloats("input_ids")));
      float[] logits = file.readFloats("logits");
      assertArrayEquals(ints(reference.get("greedy_next_token_each_position")), argmaxPerRow(logits, 13, 50257));
      List<Integer> top5 = topIds(logits, 12, 50257, 5);
      assertEquals(List.of(49453, 21489, 38862, 25616, 28771), top5);
      JsonNode expectedLogits = reference.get("last_position_top5_logits");
      for (int k = 0; k < 5; k++) {
        assertEquals(expectedLogits.get(k).doubleValue(), logits[12 * 50257 + top5.get(k)], 1e-5);
      }
      assertEquals(7.279949188232422f, logits[12 * 50257 + 49453]);
      assertEquals(0.041913483291864395f, logits[0]);
    }
  }

  @Test
  void llamaReferenceLogitsAgreeWithReferenceJson() throws Exception {
    JsonNode reference = new ObjectMapper().readTree(TestFiles.fixture("llama-hf-tiny/reference.json").toFile());
    try (SafetensorsFile file = SafetensorsFile.open(LLAMA_LOGITS)) {
      assertArrayEquals(ints(reference.get("input_ids")), toInts(file.readFloats("input_ids")));
      float[] logits = file.readFloats("logits");
      assertArrayEquals(ints(reference.get("greedy_next_token_each_position")), argmaxPerRow(logits, 13, 32000));
      assertArrayEquals(ints(reference.get("last_position_top5_ids")),
          topIds(logits, 12, 32000, 5).stream().mapToInt(Integer::intValue).toArray());
    }
  }

  @Test
  void readsTheFixtureIdenticallyThroughAHadoopFileUri() {
    var hadoopPath = new org.apache.hadoop.fs.Path(GPT2.toUri());
    try (SafetensorsFile local = SafetensorsFile.open(GPT2);
        SafetensorsFile hadoop = SafetensorsFile.open(hadoopPath, new Configuration())) {
      assertTrue(hadoop.source().startsWith("file:"), hadoop.source());
      assertEquals(local.names(), hadoop.names());
      for (String name : local.names()) {
        assertEquals(local.info(name), hadoop.info(name));
        assertArrayEquals(local.readFloats(name), hadoop.readFloats(name), name);
      }
    }
  }

  @Test
  void readsIdenticallyWhenTheMappingIsSplitIntoSmallOddChunks() throws Exception {
    try (SafetensorsFile whole = SafetensorsFile.open(GPT2);
        SafetensorsFile chunked = SafetensorsFile.open(MappedFileSource.open(GPT2, 4093))) {
      for (String name : List.of("wte.weight", "wpe.weight", "h.1.mlp.c_proj.weight", "ln_f.bias")) {
        assertArrayEquals(whole.readFloats(name), chunked.readFloats(name), name);
      }
    }
  }

  @Test
  void readArrayReturnsCOrderArraysInTheRequestedType() {
    try (SafetensorsFile file = SafetensorsFile.open(GPT2)) {
      INDArray wte = file.readArray("wte.weight");
      assertEquals(DataType.FLOAT, wte.dataType());
      assertEquals('c', wte.ordering());
      assertArrayEquals(new long[] {50257, 64}, wte.shape());
      assertEquals(-0.39512571692466736f, wte.getFloat(50256, 63));
      assertEquals(0.164323627948761f, wte.getFloat(0, 1));
      INDArray attn = file.readArray("h.1.attn.c_attn.weight", DataType.DOUBLE);
      assertEquals(DataType.DOUBLE, attn.dataType());
      assertEquals((double) -0.16407760977745056f, attn.getDouble(63, 191), 0.0);
      INDArray mask = file.readArray("h.0.attn.bias", DataType.BFLOAT16);
      assertEquals(DataType.BFLOAT16, mask.dataType());
      assertArrayEquals(new long[] {1, 1, 128, 128}, mask.shape());
      assertEquals(1.0, mask.getDouble(0, 0, 5, 5), 0.0);
      assertEquals(0.0, mask.getDouble(0, 0, 5, 6), 0.0);
      assertThrows(IllegalArgumentException.class, () -> file.readArray("ln_f.bias", DataType.UTF8));
    }
  }

  @Test
  void readArrayRoundsF32ToHalfToNearestEven() {
    // Ties and overflow thresholds where a round-half-up conversion gives a different answer.
    float[] values = {1 + 0x1p-11f, 1 + 3 * 0x1p-11f, 65519.99f, 65520f, 0x1p-25f, 3 * 0x1p-25f, -(1 + 0x1p-11f)};
    float[] bf16Ties = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, Float.MAX_VALUE};
    Path path = dir.resolve("ties.safetensors");
    new SafetensorsWriter().add("half", values, new long[] {values.length}, SafetensorsDtype.F32)
        .add("bf16", bf16Ties, new long[] {3}, SafetensorsDtype.F32).write(path);
    try (SafetensorsFile file = SafetensorsFile.open(path)) {
      INDArray half = file.readArray("half", DataType.HALF);
      assertEquals(DataType.HALF, half.dataType());
      float[] expectedHalf = {1f, 1 + 0x1p-9f, 65504f, Float.POSITIVE_INFINITY, 0f, 2 * 0x1p-24f, -1f};
      assertArrayEquals(expectedHalf, half.castTo(DataType.FLOAT).toFloatVector());
      INDArray bf16 = file.readArray("bf16", DataType.BFLOAT16);
      assertArrayEquals(new float[] {1f, 1 + 2 * 0x1p-7f, Float.POSITIVE_INFINITY},
          bf16.castTo(DataType.FLOAT).toFloatVector());
    }
  }

  @Test
  void readArrayAsHalfKeepsEveryF16ValueExactly() {
    float[] values = new float[0x10000];
    for (int i = 0; i < values.length; i++) {
      values[i] = HalfPrecision.halfToFloat((short) i);
    }
    Path path = dir.resolve("all-halves.safetensors");
    new SafetensorsWriter().add("all", values, new long[] {256, 256}, SafetensorsDtype.F16).write(path);
    try (SafetensorsFile file = SafetensorsFile.open(path)) {
      assertEquals(2 * 0x10000, file.info("all").byteLength());
      float[] back = file.readArray("all", DataType.HALF).castTo(DataType.FLOAT).reshape(0x10000).toFloatVector();
      for (int i = 0; i < values.length; i++) {
        if (Float.isNaN(values[i])) {
          assertTrue(Float.isNaN(back[i]), Integer.toHexString(i));
        } else {
          assertEquals(values[i], back[i], 0f, Integer.toHexString(i));
        }
      }
    }
  }

  @Test
  void integerReadsRejectFloatTensorsAndOutOfRangeValues() {
    Path path = dir.resolve("ints.safetensors");
    new SafetensorsWriter().add("f", new float[] {1.5f}, new long[] {1}, SafetensorsDtype.F32)
        .add("big", new long[] {7, 1L << 40}, new long[] {2}, SafetensorsDtype.I64).write(path);
    try (SafetensorsFile file = SafetensorsFile.open(path)) {
      var floatAsInt = assertThrows(SafetensorsFormatException.class, () -> file.readInts("f"));
      assertTrue(floatAsInt.getMessage().contains("ints.safetensors: tensor \"f\" holds F32, expected an integer"),
          floatAsInt.getMessage());
      var overflow = assertThrows(SafetensorsFormatException.class, () -> file.readInts("big"));
      assertTrue(overflow.getMessage().contains("tensor \"big\" element 1 holds 1099511627776, outside the int range"),
          overflow.getMessage());
      assertArrayEquals(new long[] {7, 1L << 40}, file.readLongs("big"));
      assertArrayEquals(new float[] {7f, 0x1p40f}, file.readFloats("big"));
      var missing = assertThrows(SafetensorsFormatException.class, () -> file.info("wte.weight"));
      assertTrue(missing.getMessage().contains("ints.safetensors: no tensor \"wte.weight\"; the file holds 2 tensors: "
          + "big, f"), missing.getMessage());
      assertThrows(IndexOutOfBoundsException.class, () -> file.readFloats("big", 1, 2));
    }
  }

  @Test
  void readsSlicesPastTwoGibibytesOfASparseFileAndRefusesOneHugeArray() throws Exception {
    long elements = 3L << 30;
    byte[] header = ("{\"big\":{\"dtype\":\"U8\",\"shape\":[" + elements + "],\"data_offsets\":[0," + elements + "]}}")
        .getBytes(StandardCharsets.UTF_8);
    Path path = TestFiles.raw(dir, "sparse.safetensors", header.length, header);
    long dataStart = 8 + header.length;
    long border = 2L << 30; // a 1 GiB chunk border in the file
    try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
      raf.setLength(dataStart + elements); // sparse: no disk blocks behind the zeros
      raf.seek(border - 2);
      raf.write(new byte[] {11, 22, 33, (byte) 244});
    }
    try (SafetensorsFile file = SafetensorsFile.open(path)) {
      long first = border - 2 - dataStart - 1;
      assertArrayEquals(new float[] {0, 11, 22, 33, 244, 0}, file.readFloats("big", first, 6));
      var e = assertTimeoutPreemptively(Duration.ofSeconds(5),
          () -> assertThrows(SafetensorsFormatException.class, () -> file.readFloats("big")));
      assertTrue(e.getMessage().contains("sparse.safetensors: tensor \"big\" U8 [3221225472] has 3221225472 elements, "
          + "more than one Java array holds"), e.getMessage());
    }
  }

  private static int[] ints(JsonNode array) {
    return IntStream.range(0, array.size()).map(i -> array.get(i).intValue()).toArray();
  }

  private static int[] toInts(float[] values) {
    return IntStream.range(0, values.length).map(i -> (int) values[i]).toArray();
  }

  private static int[] argmaxPerRow(float[] matrix, int rows, int columns) {
    int[] best = new int[rows];
    for (int r = 0; r < rows; r++) {
      for (int c = 1; c < columns; c++) {
        if (matrix[r * columns + c] > matrix[r * columns + best[r]]) {
          best[r] = c;
        }
      }
    }
    return best;
  }

  private static List<Integer> topIds(float[] matrix, int row, int columns, int k) {
    return IntStream.range(0, columns).boxed()
        .sorted(Comparator.comparingDouble((Integer c) -> matrix[row * columns + c]).reversed())
        .limit(k).toList();
  }
}
