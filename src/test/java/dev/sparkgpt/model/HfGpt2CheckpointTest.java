package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.io.SafetensorsReader;
import dev.sparkgpt.io.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class HfGpt2CheckpointTest {
  static final Path GPT2 = Path.of("src/test/resources/fixtures/gpt2-hf-tiny");

  @Test
  void loadsTheFixtureUnderOurNames() {
    HfGpt2Checkpoint.Loaded loaded = HfGpt2Checkpoint.load(GPT2);
    ModelConfig c = loaded.config();
    assertEquals(new ModelConfig(50257, 128, 64, 4, 2, 0.1, true, true), c);
    assertEquals(ParamNames.shapes(c).keySet(), loaded.weights().keySet());
    try (SafetensorsReader raw = SafetensorsReader.open(GPT2)) {
      assertEquals(raw.readArray("h.1.attn.c_attn.weight", DataType.FLOAT),
          loaded.weights().get(ParamNames.block(1, ParamNames.QKV_WEIGHT)));
      assertEquals(raw.readArray("wte.weight", DataType.FLOAT), loaded.weights().get(ParamNames.TOKEN_EMBEDDING));
      assertEquals(raw.readArray("h.0.mlp.c_proj.bias", DataType.FLOAT),
          loaded.weights().get(ParamNames.block(0, ParamNames.FF_DOWN_BIAS)));
    }
  }

  @Test
  void exportThenLoadGivesIdenticalTensors(@TempDir Path dir) {
    HfGpt2Checkpoint.Loaded a = HfGpt2Checkpoint.load(GPT2);
    HfGpt2Checkpoint.save(dir, a.config(), a.weights());
    HfGpt2Checkpoint.Loaded b = HfGpt2Checkpoint.load(dir);
    assertEquals(a.config(), b.config());
    a.weights().forEach((name, w) -> assertEquals(w, b.weights().get(name), name));
    try (SafetensorsReader r = SafetensorsReader.open(dir)) {
      assertFalse(r.names().contains("lm_head.weight"), "tied head is not written");
      assertTrue(r.names().contains("h.1.attn.c_attn.weight"));
    }
  }

  /** Rewrites the fixture with a name prefix, a dtype and optionally an extra untied head. */
  private static void rewrite(Path to, String prefix, SafetensorsDtype dtype, INDArray head) throws Exception {
    Files.createDirectories(to);
    Files.copy(GPT2.resolve("config.json"), to.resolve("config.json"));
    SafetensorsWriter w = new SafetensorsWriter();
    try (SafetensorsReader r = SafetensorsReader.open(GPT2)) {
      for (String name : r.names()) {
        w.add(prefix + name, r.readArray(name, DataType.FLOAT), dtype);
      }
    }
    if (head != null) {
      w.add("lm_head.weight", head, dtype);
    }
    w.write(to.resolve("model.safetensors"));
  }

  @Test
  void acceptsTransformerPrefixHalfPrecisionAndAnUntiedHead(@TempDir Path dir) throws Exception {
    HfGpt2Checkpoint.Loaded f32 = HfGpt2Checkpoint.load(GPT2);
    INDArray wte = f32.weights().get(ParamNames.TOKEN_EMBEDDING);
    rewrite(dir.resolve("bf16"), "transformer.", SafetensorsDtype.BF16, wte.mul(0.5));
    HfGpt2Checkpoint.Loaded bf16 = HfGpt2Checkpoint.load(dir.resolve("bf16"));
    assertFalse(bf16.config().tieEmbeddings(), "a different lm_head unties the head");
    assertEquals(ParamNames.shapes(bf16.config()).keySet(), bf16.weights().keySet());
    // BF16 keeps 8 bits of mantissa: relative error ≤ 2^-8
    INDArray back = bf16.weights().get(ParamNames.block(0, ParamNames.QKV_WEIGHT));
    INDArray orig = f32.weights().get(ParamNames.block(0, ParamNames.QKV_WEIGHT));
    assertTrue(back.sub(orig).div(orig.add(1e-30)).amaxNumber().doubleValue() <= 1.0 / 256);

    rewrite(dir.resolve("f16"), "", SafetensorsDtype.F16, wte);
    HfGpt2Checkpoint.Loaded f16 = HfGpt2Checkpoint.load(dir.resolve("f16"));
    assertTrue(f16.config().tieEmbeddings(), "an lm_head equal to wte stays tied");
    assertEquals(f32.weights().keySet(), f16.weights().keySet());
  }

  @Test
  void missingTensorsAndWrongShapesAreNamed(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("m"));
    Files.copy(GPT2.resolve("config.json"), dir.resolve("m/config.json"));
    SafetensorsWriter w = new SafetensorsWriter();
    try (SafetensorsReader r = SafetensorsReader.open(GPT2)) {
      for (String name : r.names()) {
        if (!name.equals("h.1.ln_2.bias")) {
          w.add(name, r.readArray(name, DataType.FLOAT));
        }
      }
    }
    w.write(dir.resolve("m/model.safetensors"));
    CheckpointException e = assertThrows(CheckpointException.class, () -> HfGpt2Checkpoint.load(dir.resolve("m")));
    assertTrue(e.getMessage().contains("h.1.ln_2.bias"), e.getMessage());

    Files.createDirectories(dir.resolve("s"));
    Files.writeString(dir.resolve("s/config.json"), Files.readString(GPT2.resolve("config.json"))
        .replace("\"n_positions\": 128", "\"n_positions\": 256"));
    Files.copy(GPT2.resolve("model.safetensors"), dir.resolve("s/model.safetensors"));
    CheckpointException s = assertThrows(CheckpointException.class, () -> HfGpt2Checkpoint.load(dir.resolve("s")));
    assertTrue(s.getMessage().contains("wpe.weight") && s.getMessage().contains("[128, 64]")
        && s.getMessage().contains("[256, 64]"), s.getMessage());
  }

  @Test
  void otherArchitecturesAreRefusedByName() {
    CheckpointException e = assertThrows(CheckpointException.class,
        () -> HfGpt2Checkpoint.load(Path.of("src/test/resources/fixtures/llama-hf-tiny")));
    assertTrue(e.getMessage().contains("model_type \"llama\""), e.getMessage());
  }
}
