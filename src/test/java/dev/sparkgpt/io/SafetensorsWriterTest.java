package dev.sparkgpt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SafetensorsWriterTest {
  @TempDir
  Path dir;

  private static List<String> listing(Path directory) throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void writesExactlyTheBytesOfAHandBuiltFile() throws Exception {
    Path path = dir.resolve("tiny.safetensors");
    new SafetensorsWriter()
        .add("b", new float[] {1.5f, -2f}, new long[] {2}, SafetensorsDtype.F32)
        .add("a", new int[] {-3}, new long[] {}, SafetensorsDtype.I16)
        .putMetadata("format", "pt")
        .write(path);

    String json = "{\"__metadata__\":{\"format\":\"pt\"},"
        + "\"a\":{\"dtype\":\"I16\",\"shape\":[],\"data_offsets\":[0,2]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2,10]}}";
    int padded = (json.length() + 7) / 8 * 8;
    ByteBuffer expected = ByteBuffer.allocate(8 + padded + 10).order(ByteOrder.LITTLE_ENDIAN);
    expected.putLong(padded).put(json.getBytes(StandardCharsets.US_ASCII));
    while (expected.position() < 8 + padded) {
      expected.put((byte) ' ');
    }
    expected.putShort((short) -3).putFloat(1.5f).putFloat(-2f);
    assertArrayEquals(expected.array(), Files.readAllBytes(path));
    assertEquals(List.of("tiny.safetensors"), listing(dir), "no temp file is left behind");
  }

  @Test
  void roundTripsEveryDtype() {
    // F16 expectations come from numpy.float16, BF16 ones from exact rational rounding in Python.
    double[] reals = {0, -0.0, 1, -2.5, 0.1, 1e-3, 65504, Double.NaN, Double.NEGATIVE_INFINITY};
    long[] shape = {3, 3};
    Path path = dir.resolve("all.safetensors");
    new SafetensorsWriter()
        .add("f64", reals, shape, SafetensorsDtype.F64)
        .add("f32", reals, shape, SafetensorsDtype.F32)
        .add("f16", reals, shape, SafetensorsDtype.F16)
        .add("bf16", reals, shape, SafetensorsDtype.BF16)
        .add("i64", new long[] {Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE}, new long[] {5}, SafetensorsDtype.I64)
        .add("i32", new int[] {Integer.MIN_VALUE, -1, Integer.MAX_VALUE}, new long[] {3}, SafetensorsDtype.I32)
        .add("i16", new int[] {Short.MIN_VALUE, 7, Short.MAX_VALUE}, new long[] {3, 1}, SafetensorsDtype.I16)
        .add("i8", new int[] {-128, 0, 127}, new long[] {1, 3}, SafetensorsDtype.I8)
        .add("u8", new int[] {0, 128, 255}, new long[] {3}, SafetensorsDtype.U8)
        .add("bool", new int[] {1, 0, 1}, new long[] {3}, SafetensorsDtype.BOOL)
        .add("empty", new float[0], new long[] {0, 4}, SafetensorsDtype.F32)
        .write(path);
    try (SafetensorsFile file = SafetensorsFile.open(path)) {
      assertEquals(11, file.names().size());
      assertArrayEquals(reals, file.readDoubles("f64"));
      assertArrayEquals(new float[] {0, -0f, 1, -2.5f, 0.1f, 1e-3f, 65504, Float.NaN, Float.NEGATIVE_INFINITY},
          file.readFloats("f32"));
      assertArrayEquals(new float[] {0, -0f, 1, -2.5f, 0.0999755859375f, 0.0010004043579101562f, 65504, Float.NaN,
          Float.NEGATIVE_INFINITY}, file.readFloats("f16"));
      assertArrayEquals(new float[] {0, -0f, 1, -2.5f, 0.10009765625f, 0.00099945068359375f, 65536, Float.NaN,
          Float.NEGATIVE_INFINITY}, file.readFloats("bf16"));
      assertArrayEquals(new long[] {Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE}, file.readLongs("i64"));
      assertArrayEquals(new int[] {Integer.MIN_VALUE, -1, Integer.MAX_VALUE}, file.readInts("i32"));
      assertArrayEquals(new int[] {Short.MIN_VALUE, 7, Short.MAX_VALUE}, file.readInts("i16"));
      assertArrayEquals(new long[] {-128, 0, 127}, file.readLongs("i8"));
      assertArrayEquals(new int[] {0, 128, 255}, file.readInts("u8"));
      assertArrayEquals(new int[] {1, 0, 1}, file.readInts("bool"));
      assertArrayEquals(new float[0], file.readFloats("empty"));
      assertArrayEquals(new long[] {0, 4}, file.info("empty").shape());
      assertArrayEquals(new long[] {3, 1}, file.info("i16").shape());
      for (SafetensorsDtype dtype : SafetensorsDtype.values()) {
        assertEquals(dtype, file.info(dtype.name().toLowerCase(java.util.Locale.ROOT)).dtype());
      }
    }
  }

  @Test
  void roundsFloatsToF16AndBf16BitsToNearestEvenOnWrite() throws Exception {
    float[] values = {1 + 0x1p-11f, 1 + 3 * 0x1p-11f, 1 + 0x1p-8f, 65520f};
    Path path = dir.resolve("round.safetensors");
    new SafetensorsWriter().add("h", values, new long[] {4}, SafetensorsDtype.F16)
        .add("b", values, new long[] {4}, SafetensorsDtype.BF16).write(path);
    byte[] bytes = Files.readAllBytes(path);
    ByteBuffer data = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int start = 8 + (int) data.getLong(0);
    // Sorted order: "b" (bf16) first, then "h" (f16); expected bits cross-checked with numpy's float16.
    short[] expected = {0x3F80, 0x3F80, 0x3F80, 0x4780, 0x3C00, 0x3C02, 0x3C04, 0x7C00};
    for (int i = 0; i < expected.length; i++) {
      assertEquals(String.format("0x%04X", expected[i]), String.format("0x%04X", data.getShort(start + 2 * i)),
          "element " + i);
    }
  }

  @Test
  void roundTripsNd4jArraysOfAnyOrderAndView() {
    INDArray matrix = Nd4j.create(new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, DataType.FLOAT);
    INDArray fOrder = matrix.dup('f');
    INDArray transposed = matrix.transpose(); // a view: [[1, 4], [2, 5], [3, 6]]
    INDArray row = matrix.getRow(1); // a view with an offset: [4, 5, 6]
    INDArray doubles = Nd4j.create(new double[] {0.1, 1e300}, new long[] {2}, DataType.DOUBLE);
    INDArray longs = Nd4j.create(new long[] {1L << 40, -5}, new long[] {2}, DataType.LONG);
    INDArray bools = Nd4j.create(new boolean[] {true, false, true}, new long[] {3}, DataType.BOOL);
    INDArray half = Nd4j.create(new float[] {1.5f, -2f}, new long[] {2}, DataType.FLOAT).castTo(DataType.HALF);
    Path path = dir.resolve("nd4j.safetensors");
    new SafetensorsWriter().add("f_order", fOrder).add("transposed", transposed).add("row", row)
        .add("doubles", doubles).add("doubles_as_bf16", doubles, SafetensorsDtype.BF16).add("longs", longs)
        .add("bools", bools).add("half", half).add("scalar", Nd4j.scalar(2.5f))
        .add("empty", Nd4j.create(DataType.FLOAT, 0, 3)).write(path);
    try (SafetensorsFile file = SafetensorsFile.open(path)) {
      assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, file.readFloats("f_order"));
      assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, file.readFloats("transposed"));
      assertArrayEquals(new long[] {3, 2}, file.info("transposed").shape());
      assertArrayEquals(new float[] {4, 5, 6}, file.readFloats("row"));
      assertEquals(SafetensorsDtype.F64, file.info("doubles").dtype());
      assertArrayEquals(new double[] {0.1, 1e300}, file.readDoubles("doubles"));
      assertArrayEquals(new float[] {0.10009765625f, Float.POSITIVE_INFINITY}, file.readFloats("doubles_as_bf16"));
      assertArrayEquals(new long[] {1L << 40, -5}, file.readLongs("longs"));
      assertEquals(SafetensorsDtype.BOOL, file.info("bools").dtype());
      INDArray boolsBack = file.readArray("bools");
      assertEquals(DataType.BOOL, boolsBack.dataType());
      assertArrayEquals(new int[] {1, 0, 1}, boolsBack.toIntVector());
      assertEquals(SafetensorsDtype.F16, file.info("half").dtype());
      assertArrayEquals(new float[] {1.5f, -2f}, file.readFloats("half"));
      assertEquals(0, file.info("scalar").rank());
      assertEquals(2.5f, file.readArray("scalar").getFloat(0));
      assertArrayEquals(new long[] {0, 3}, file.info("empty").shape());
      assertTrue(file.readArray("empty").isEmpty());
      INDArray back = file.readArray("transposed");
      assertEquals(transposed, back);
    }
  }

  @Test
  void rewritingTheGpt2FixtureKeepsEveryTensorAndTheMetadata() {
    Path copy = dir.resolve("copy.safetensors");
    try (SafetensorsFile original = SafetensorsFile.open(TestFiles.fixture("gpt2-hf-tiny/model.safetensors"))) {
      SafetensorsWriter writer = new SafetensorsWriter().putAllMetadata(original.metadata());
      for (String name : original.names()) {
        writer.add(name, original.readFloats(name), original.info(name).shape(), SafetensorsDtype.F32);
      }
      writer.write(copy);
      try (SafetensorsFile rewritten = SafetensorsFile.open(copy)) {
        assertEquals(original.metadata(), rewritten.metadata());
        assertEquals(original.names(), rewritten.names());
        for (String name : original.names()) {
          assertArrayEquals(original.info(name).shape(), rewritten.info(name).shape());
          assertArrayEquals(original.readFloats(name), rewritten.readFloats(name), name);
        }
      }
    }
  }

  @Test
  void refusesBadTensorsWhenAddedBeforeTouchingTheDisk() {
    SafetensorsWriter writer = new SafetensorsWriter().add("x", new float[4], new long[] {2, 2}, SafetensorsDtype.F32);
    var shape = assertThrows(IllegalArgumentException.class,
        () -> writer.add("y", new float[5], new long[] {2, 2}, SafetensorsDtype.F32));
    assertEquals("tensor \"y\": shape [2, 2] holds 4 elements but 5 values were given", shape.getMessage());
    var duplicate = assertThrows(IllegalArgumentException.class,
        () -> writer.add("x", new float[1], new long[] {1}, SafetensorsDtype.F32));
    assertEquals("tensor \"x\" was already added", duplicate.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> writer.add("__metadata__", new float[1], new long[] {1}, SafetensorsDtype.F32));
    var range = assertThrows(IllegalArgumentException.class,
        () -> writer.add("z", new int[] {1, 200}, new long[] {2}, SafetensorsDtype.I8));
    assertEquals("tensor \"z\": element 1 is 200, outside the range of I8", range.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> writer.add("w", new float[1], new long[] {1}, SafetensorsDtype.I32));
    assertThrows(IllegalArgumentException.class,
        () -> writer.add("v", new long[1], new long[] {1}, SafetensorsDtype.F16));
    assertThrows(IllegalArgumentException.class,
        () -> writer.add("n", new float[0], new long[] {-1, 0}, SafetensorsDtype.F32));
    assertThrows(IllegalArgumentException.class,
        () -> writer.add("m", Nd4j.create(new float[] {1}, new long[] {1}, DataType.FLOAT), SafetensorsDtype.I64));
    assertEquals(java.util.Set.of("x"), writer.names());
  }

  @Test
  void aFailedWriteLeavesNoPartialFileAndKeepsThePreviousOne() throws Exception {
    Path path = dir.resolve("model.safetensors");
    new SafetensorsWriter().add("a", new float[] {1}, new long[] {1}, SafetensorsDtype.F32).write(path);
    byte[] before = Files.readAllBytes(path);
    // The range of an ND4J array's values is only known when write() copies them out.
    INDArray tooBig = Nd4j.create(new long[] {3, 300}, new long[] {2}, DataType.LONG);
    SafetensorsWriter failing = new SafetensorsWriter().add("a", new float[] {2}, new long[] {1}, SafetensorsDtype.F32)
        .add("z", tooBig, SafetensorsDtype.U8);
    var e = assertThrows(OutputException.class, () -> failing.write(path));
    assertTrue(e.getMessage().contains("model.safetensors: could not write safetensors")
        && e.getMessage().contains("tensor \"z\" element 1 holds 300, outside the range of U8"), e.getMessage());
    assertEquals(List.of("model.safetensors"), listing(dir));
    assertArrayEquals(before, Files.readAllBytes(path));

    var hadoopPath = new org.apache.hadoop.fs.Path(path.toUri());
    assertThrows(OutputException.class, () -> failing.write(hadoopPath, new Configuration()));
    assertEquals(List.of("model.safetensors"), listing(dir).stream().filter(n -> !n.endsWith(".crc")).toList());
    assertArrayEquals(before, Files.readAllBytes(path));
  }

  @Test
  void writesAndOverwritesThroughAHadoopFileUri() throws Exception {
    Path local = dir.resolve("ckpt").resolve("model.safetensors");
    var hadoopPath = new org.apache.hadoop.fs.Path(local.toUri());
    Configuration conf = new Configuration();
    new SafetensorsWriter().add("w", new double[] {0.5, 0.25}, new long[] {2}, SafetensorsDtype.F64)
        .write(hadoopPath, conf);
    new SafetensorsWriter().add("w", new double[] {1.5, 2.25, 3}, new long[] {3}, SafetensorsDtype.BF16)
        .putMetadata("step", "2").write(hadoopPath, conf);
    assertEquals(List.of("model.safetensors"),
        listing(local.getParent()).stream().filter(n -> !n.endsWith(".crc")).toList());
    try (SafetensorsReader viaHadoop = SafetensorsReader.open(hadoopPath, conf);
        SafetensorsReader viaNio = SafetensorsReader.open(local)) {
      assertEquals(Map.of("step", "2"), viaHadoop.metadata());
      assertArrayEquals(new float[] {1.5f, 2.25f, 3f}, viaHadoop.readFloats("w"));
      assertArrayEquals(new double[] {1.5, 2.25, 3}, viaNio.readDoubles("w"));
    }
  }
}
