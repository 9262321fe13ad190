package dev.sparkgpt.model;

import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.checkpoint.Checkpoint;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.io.SafetensorsReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Our model loaded from the Hugging Face LlamaForCausalLM fixture (../shared/fixtures/README.md: 2 layers, 4 query
 * heads sharing 2 key/value heads, SwiGLU, RMSNorm, RoPE, untied head) reproduces {@code reference-logits.safetensors}
 * to 1e-4 and the greedy tokens of {@code reference.json}. That reference is independent: computed in float64 by a
 * separate implementation from the stored weights, and cross-checked there between the rotate_half and Meta's complex
 * RoPE conventions. Also: the KV cache gives the same logits, export round-trips the tensors bit for bit, and a
 * broken checkpoint is refused by tensor name.
 */
class LlamaParityTest {
  static final Path DIR = HfFixtures.LLAMA;
  private static GptModel model;
  private static int[] tokens;
  private static INDArray reference;

  @BeforeAll
  static void load() {
    OneThread.pin();
    tokens = HfFixtures.referenceTokens(DIR);
    try (SafetensorsReader r = SafetensorsReader.open(DIR.resolve("reference-logits.safetensors"))) {
      reference = r.readArray("logits", DataType.FLOAT).castTo(DataType.DOUBLE);
    }
    model = Checkpoint.open(DIR.toString()).model();
  }

  @Test
  void configIsReadFromTheLlamaKeys() {
    assertEquals(new ModelConfig(32000, 128, 64, 4, 2, 0.0, false, false, 0, ModelConfig.RMSNORM, 1e-5,
        ModelConfig.SWIGLU, 160, ModelConfig.ROPE, 10000.0, 2, false), model.config());
  }

  @Test
  void logitsAndGreedyTokensMatchTheIndependentReference() throws Exception {
    INDArray logits = model.logits(new int[][] {tokens}).reshape(tokens.length, 32000).castTo(DataType.DOUBLE);
    double maxError = logits.sub(reference).amaxNumber().doubleValue();
    assertTrue(maxError < 1e-4, "max |logit - reference| = " + maxError);
    JsonNode summary = JsonFiles.MAPPER.readTree(Files.readString(DIR.resolve("reference.json")));
    int[] expected = new int[tokens.length];
    int[] greedy = new int[tokens.length];
    for (int t = 0; t < tokens.length; t++) {
      expected[t] = summary.get("greedy_next_token_each_position").get(t).asInt();
      greedy[t] = logits.getRow(t).argMax().getInt(0);
      assertEquals(summary.get("input_ids").get(t).asInt(), tokens[t]);
    }
    assertArrayEquals(expected, greedy);
  }

  @Test
  void kvCacheReproducesTheReferenceAtEveryPosition() {
    KvDecoder decoder = model.decoder();
    float[] prefill = decoder.append(Arrays.copyOf(tokens, 4));
    assertRow(prefill, 3);
    for (int t = 4; t < tokens.length; t++) {
      assertRow(decoder.append(new int[] {tokens[t]}), t);
    }
  }

  private static void assertRow(float[] logits, int t) {
    double worst = 0;
    for (int v = 0; v < logits.length; v++) {
      worst = Math.max(worst, Math.abs(logits[v] - reference.getDouble(t, v)));
    }
    assertTrue(worst < 1e-4, "position " + t + ": max |logit - reference| = " + worst);
  }

  @Test
  void exportThenLoadGivesTheFixturesTensorsBitForBit(@TempDir Path dir) {
    HfGpt2Checkpoint.Loaded a = HfCheckpoints.load(DIR);
    Path out = dir.resolve("hf");
    HfCheckpoints.save(out, a.config(), a.weights(), SafetensorsDtype.F32);
    assertEquals(a.config(), HfCheckpoints.load(out).config());
    try (SafetensorsReader original = SafetensorsReader.open(DIR); SafetensorsReader exported =
        SafetensorsReader.open(out)) {
      assertEquals(original.names(), exported.names());
      for (String name : original.names()) {
        assertArrayEquals(original.readFloats(name), exported.readFloats(name), 0f, name);
        assertArrayEquals(original.info(name).shape(), exported.info(name).shape(), name);
      }
    }
  }

  @Test
  void missingTensorsAreNamedAndAWrongShapeGivesTensorExpectedAndGot(@TempDir Path dir) throws Exception {
    Path missing = HfFixtures.rewrite(DIR, dir.resolve("missing"), "model.layers.1.mlp.up_proj.weight", null);
    CheckpointException e = assertThrows(CheckpointException.class, () -> HfCheckpoints.load(missing));
    assertTrue(e.getMessage().contains("missing tensors [model.layers.1.mlp.up_proj.weight]"), e.getMessage());

    Path wrong = HfFixtures.rewrite(DIR, dir.resolve("wrong"), "model.layers.0.self_attn.k_proj.weight",
        GradientCheck.random(1, 1.0, 64, 64).castTo(DataType.FLOAT));
    e = assertThrows(CheckpointException.class, () -> HfCheckpoints.load(wrong));
    assertTrue(e.getMessage().contains("\"model.layers.0.self_attn.k_proj.weight\" expected shape [32, 64] (from "
        + "config.json), got [64, 64]"), e.getMessage());
  }

  @Test
  void aTiedLlamaUsesTheTokenEmbeddingAsItsHeadAndExportsNoLmHead(@TempDir Path dir) throws Exception {
    Path tied = HfFixtures.rewrite(DIR, dir.resolve("tied"), "lm_head.weight", null);
    Files.writeString(tied.resolve("config.json"), Files.readString(DIR.resolve("config.json"))
        .replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true"));
    HfGpt2Checkpoint.Loaded loaded = HfCheckpoints.load(tied);
    assertTrue(loaded.config().tieEmbeddings());
    assertTrue(!loaded.weights().containsKey(ParamNames.OUT_HEAD));
    GptModel tiedModel = new GptModel(GptParameters.fromMap(loaded.config(), loaded.weights(), DataType.FLOAT), 0);
    // = the untied fixture model whose lm_head is replaced by the token embedding
    HfGpt2Checkpoint.Loaded untied = HfCheckpoints.load(DIR);
    untied.weights().put(ParamNames.OUT_HEAD, untied.weights().get(ParamNames.TOKEN_EMBEDDING));
    GptModel reference = new GptModel(GptParameters.fromMap(untied.config(), untied.weights(), DataType.FLOAT), 0);
    assertArrayEquals(reference.nextLogits(tokens), tiedModel.nextLogits(tokens), 1e-5f);
    Path out = dir.resolve("out");
    HfCheckpoints.save(out, loaded.config(), loaded.weights(), SafetensorsDtype.F32);
    try (SafetensorsReader r = SafetensorsReader.open(out)) {
      assertTrue(!r.names().contains("lm_head.weight") && r.names().contains("model.embed_tokens.weight"));
    }
    assertTrue(Files.readString(out.resolve("config.json")).contains("\"tie_word_embeddings\" : true"));
  }

  @Test
  void anUnknownArchitectureIsRefusedWithTheSupportedOnes(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"MistralForCausalLM\"], \"model_type\": "
        + "\"mistral\"}");
    Files.copy(DIR.resolve("model.safetensors"), dir.resolve("model.safetensors"));
    CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(dir.toString()).model());
    assertTrue(e.getMessage().contains("[\"MistralForCausalLM\"] with model_type \"mistral\" is not supported; "
        + "supported: GPT2LMHeadModel (model_type gpt2), LlamaForCausalLM (model_type llama)"), e.getMessage());
  }
}
