package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.train.GptStepModel;
import dev.sparkgpt.train.LoraAdapters;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** LoRA adapters (train.LoraAdapters) through the explicit model: identity at start, exact gradients, frozen base. */
class LoraTest {
  private static final List<String> ALL = List.of("attn_qkv", "attn_proj", "mlp_fc", "mlp_proj", "head");

  @BeforeAll
  static void oneThread() {
    OneThread.pin();
  }

  private static TokenBatch batch(ModelConfig c, long seed) {
    Random r = new Random(seed);
    int[][] x = new int[2][c.contextLength()];
    int[][] y = new int[2][c.contextLength()];
    for (int b = 0; b < 2; b++) {
      for (int t = 0; t < c.contextLength(); t++) {
        x[b][t] = r.nextInt(c.vocabSize());
        y[b][t] = r.nextInt(c.vocabSize());
      }
    }
    return new TokenBatch(x, y);
  }

  @Test
  void freshAdaptersLeaveTheModelExactlyAsItWas() {
    ModelConfig c = new ModelConfig(11, 6, 8, 2, 2, 0.0, true, false);
    GptModel model = new GptModel(GradientCheck.randomParameters(c, 0.5, 1), 0);
    INDArray before = model.logits(batch(c, 2).inputs()).dup();
    LoraAdapters lora = new LoraAdapters(c, model.parameters(), 2, 4, ALL, 3);
    lora.applyTo(model.parameters());
    assertEquals(before, model.logits(batch(c, 2).inputs()));
    assertEquals(2 * 4 + 1, lora.targets().size(), "qkv, proj, fc, proj per block, and the head");
  }

  @Test
  void adapterGradientsMatchFiniteDifferencesInDoublePrecision() {
    ModelConfig c = new ModelConfig(11, 6, 8, 2, 2, 0.0, true, false);
    GptModel model = new GptModel(GradientCheck.randomParameters(c, 0.5, 4), 0);
    LoraAdapters lora = new LoraAdapters(c, model.parameters(), 3, 6, ALL, 5);
    lora.parameters().vector().assign(GradientCheck.random(6, 0.3, lora.parameters().size())); // B ≠ 0 too
    TokenBatch batch = batch(c, 7);
    lora.applyTo(model.parameters());
    model.zeroGradients();
    model.accumulateGradients(batch, batch.weightSum(), null);
    GptParameters analytic = lora.parameters().zerosLike();
    lora.gradients(model.gradients(), analytic);
    double worst = GradientCheck.assertGradients(lora.parameters().views(), analytic.views(), () -> {
      lora.applyTo(model.parameters());
      return model.loss(batch);
    }, 6, 8);
    assertTrue(worst < 1e-5, "worst relative error " + worst);
  }

  @Test
  void adaptersOnALlamaAreExactToo() {
    // the same targets by name on RMSNorm/SwiGLU/RoPE/GQA: the fused qkv is [C, (H + 2K)·D] = [16, 32], mlp_fc is
    // SwiGLU's up projection (the gate is not a target)
    ModelConfig c = new ModelConfig(11, 6, 16, 4, 1, 0.0, false, false, 0, ModelConfig.RMSNORM, 1e-5,
        ModelConfig.SWIGLU, 12, ModelConfig.ROPE, 10000.0, 2, false);
    GptModel model = new GptModel(GradientCheck.randomParameters(c, 0.5, 14), 0);
    LoraAdapters lora = new LoraAdapters(c, model.parameters(), 2, 4, ALL, 15);
    assertArrayEquals(new long[] {2, 32}, lora.parameters().get(ParamNames.block(0, ParamNames.QKV_WEIGHT) + ".lora_B")
        .shape());
    lora.parameters().vector().assign(GradientCheck.random(16, 0.3, lora.parameters().size()));
    TokenBatch batch = batch(c, 17);
    lora.applyTo(model.parameters());
    model.zeroGradients();
    model.accumulateGradients(batch, batch.weightSum(), null);
    GptParameters analytic = lora.parameters().zerosLike();
    lora.gradients(model.gradients(), analytic);
    GradientCheck.assertGradients(lora.parameters().views(), analytic.views(), () -> {
      lora.applyTo(model.parameters());
      return model.loss(batch);
    }, 4, 18);
  }

  @Test
  void onlyAdaptersTrainAndCheckpointsHoldAdaptersOnly() {
    ModelConfig c = new ModelConfig(11, 6, 8, 2, 1, 0.0, false, false);
    GptModel model = GptModel.initialize(c, DataType.FLOAT, 9);
    Map<String, INDArray> base = model.parameters().toMap(DataType.FLOAT);
    LoraAdapters lora = new LoraAdapters(c, model.parameters(), 4, 8, List.of("attn_qkv", "head"), 10);
    GptStepModel step = new GptStepModel(model, new PretrainConfig.Optimizer(0.05, 0.05, 0.0, 0.9, 0.999, 1e-8),
        lora);
    assertEquals(lora.parameters().size(), step.parameterCount());
    TokenBatch b = batch(c, 11);
    double first = step.step(new int[][][] {b.inputs()}, new int[][][] {b.targets()}, 0.05, 1.0).loss();
    double last = first;
    for (int i = 0; i < 60; i++) {
      last = step.step(new int[][][] {b.inputs()}, new int[][][] {b.targets()}, 0.05, 1.0).loss();
    }
    assertTrue(last < first * 0.7, "loss " + first + " -> " + last);
    for (String name : base.keySet()) {
      if (!lora.targets().contains(name)) {
        assertArrayEquals(base.get(name).ravel().toFloatVector(), model.parameters().get(name).ravel().castTo(
            DataType.FLOAT).toFloatVector(), 0f, name + " is frozen");
      } else {
        assertArrayEquals(base.get(name).ravel().toFloatVector(), lora.base(name).ravel().castTo(DataType.FLOAT)
            .toFloatVector(), 0f, name + "'s base is frozen");
      }
    }
    assertTrue(step.weights().keySet().stream().allMatch(k -> k.contains(".lora_")), step.weights().keySet()
        .toString());
    // restore into a fresh model over the same base: same logits
    GptModel again = new GptModel(GptParameters.fromMap(c, base, DataType.FLOAT), 0);
    GptStepModel restored = new GptStepModel(again, new PretrainConfig.Optimizer(0.05, 0.05, 0.0, 0.9, 0.999, 1e-8),
        new LoraAdapters(c, again.parameters(), 4, 8, List.of("attn_qkv", "head"), 99));
    restored.restore(step.weights(), step.optimizerState(), step.rngState());
    assertEquals(model.logits(b.inputs()), again.logits(b.inputs()), "adapters restored = same merged model");
  }

  @Test
  void targetsThatMatchNothingAreRefused() {
    ModelConfig tied = new ModelConfig(11, 6, 8, 2, 1, 0.0, false, true);
    GptParameters p = GptParameters.zeros(tied, DataType.FLOAT);
    ConfigException e = assertThrows(ConfigException.class, () -> new LoraAdapters(tied, p, 2, 4, List.of("head"),
        1));
    assertTrue(e.getMessage().startsWith("lora.targets: [head] match no weight of this model (its head is the tied "
        + "token embedding"), e.getMessage());
    e = assertThrows(ConfigException.class, () -> new LoraAdapters(tied, p, 2, 4, List.of("attention"), 1));
    assertEquals("lora.targets: 'attention' matches no layer. Fix: use some of [attn_proj, attn_qkv, head, mlp_fc, "
        + "mlp_proj]", e.getMessage());
  }
}
