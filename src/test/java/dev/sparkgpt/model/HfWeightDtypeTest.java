package dev.sparkgpt.model;

import dev.sparkgpt.checkpoint.Checkpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.io.SafetensorsFormatException;
import dev.sparkgpt.io.SafetensorsReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A Hugging Face directory whose weights are not stored as floats (a quantized checkpoint: integer codes, or 8-bit
 * floats this reader does not decode) is refused by tensor name and dtype, never converted to garbage.
 */
class HfWeightDtypeTest {
  private static final Path GPT2 = HfFixtures.GPT2;

  /** A copy of {@code fixture} with tensor {@code name} stored as {@code dtype} (its values × 100, cast). */
  private static Path withDtype(Path fixture, Path to, String name, DataType dtype) throws Exception {
    INDArray original;
    try (SafetensorsReader r = SafetensorsReader.open(fixture)) {
      original = r.readArray(name, DataType.FLOAT);
    }
    return HfFixtures.rewrite(fixture, to, name, original.mul(100).castTo(dtype));
  }

  @Test
  void anI8WeightInAGpt2DirectoryIsRefusedByNameAndDtype(@TempDir Path dir) throws Exception {
    Path i8 = withDtype(GPT2, dir.resolve("i8"), "h.0.mlp.c_fc.weight", DataType.BYTE);
    try (SafetensorsReader r = SafetensorsReader.open(i8)) {
      assertEquals(SafetensorsDtype.I8, r.info("h.0.mlp.c_fc.weight").dtype());
    }
    CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(i8.toString()).model());
    assertEquals(i8.resolve("model.safetensors") + ": tensor \"h.0.mlp.c_fc.weight\" is stored as I8, not a "
        + "floating-point dtype; weights must be F32, F16, BF16 or F64 (quantized checkpoints are not supported). "
        + "Fix: save the model again unquantized, e.g. with torch_dtype float16 or float32", e.getMessage());
  }

  @Test
  void everyIntegerDtypeInALlamaDirectoryIsRefused(@TempDir Path dir) throws Exception {
    DataType[] types = {DataType.UBYTE, DataType.SHORT, DataType.INT, DataType.LONG, DataType.BOOL};
    String[] names = {"U8", "I16", "I32", "I64", "BOOL"};
    for (int i = 0; i < types.length; i++) {
      Path bad = withDtype(HfFixtures.LLAMA, dir.resolve(names[i]), "model.layers.1.self_attn.v_proj.weight",
          types[i]);
      CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(bad.toString()).model());
      assertTrue(e.getMessage().contains("tensor \"model.layers.1.self_attn.v_proj.weight\" is stored as " + names[i]
          + ", not a floating-point dtype; weights must be F32, F16, BF16 or F64"), e.getMessage());
    }
  }

  @Test
  void anF8WeightIsRefusedByNameAndDtypeWhenTheFileIsOpened(@TempDir Path dir) throws Exception {
    // safetensors' float8 dtypes (quantized checkpoints) are not readable here: a one-tensor file declaring one
    Files.copy(GPT2.resolve("config.json"), dir.resolve("config.json"));
    byte[] header = "{\"wte.weight\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,2],\"data_offsets\":[0,4]}}"
        .getBytes(StandardCharsets.US_ASCII);
    ByteBuffer file = ByteBuffer.allocate(8 + header.length + 4).order(ByteOrder.LITTLE_ENDIAN);
    file.putLong(header.length).put(header).put(new byte[] {1, 2, 3, 4});
    Files.write(dir.resolve("model.safetensors"), file.array());
    SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
        () -> Checkpoint.open(dir.toString()).model());
    assertTrue(e.getMessage().startsWith(dir.resolve("model.safetensors") + ": tensor \"wte.weight\" has unknown "
        + "dtype \"F8_E4M3\""), e.getMessage());
  }
}
