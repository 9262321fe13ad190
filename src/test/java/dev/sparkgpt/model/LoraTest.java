package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.train.GptStepModel;
import dev.sparkgpt.train.LoraAdapters;
import dev.sparkgpt.train.LoraStepModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * LoRA adapters (train.LoraAdapters) computed beside the frozen weights of the explicit model: identity at start,
 * exact gradients on every target (dropout included), merged = unmerged, frozen base, dropout and resume.
 */
class LoraTest {
  private static final List<String> ALL = List.of("attn_qkv", "attn_proj", "mlp_fc", "mlp_proj", "head");
  private static final PretrainConfig.Optimizer ADAM = new PretrainConfig.Optimizer(0.05, 0.05, 0.0, 0.9, 0.999, 1e-8);

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

  /** Every value equal, bit for bit (INDArray.equals allows 1e-5). */
  private static void assertSame(INDArray expected, INDArray actual, String message) {
    assertArrayEquals(expected.castTo(DataType.DOUBLE).ravel().toDoubleVector(),
        actual.castTo(DataType.DOUBLE).ravel().toDoubleVector(), 0.0, message);
  }

  /** Attached adapters with random A and B (B ≠ 0, so every path carries signal), in float64. */
  private static LoraAdapters attached(GptModel model, double dropout, List<String> targets, long seed) {
    LoraAdapters lora = new LoraAdapters(model.config(), model.parameters(), 2, 6, dropout, targets, seed);
    lora.parameters().vector().assign(GradientCheck.random(seed + 1, 0.3, lora.parameters().size()));
    model.adapt(lora.adapters());
    return lora;
  }

  /**
   * ∂L/∂A and ∂L/∂B from the model's backward against finite differences of the training loss with fixed masks (the
   * model's and the adapters'), and no gradient for any base weight.
   */
  private static void assertAdapterGradients(GptModel model, LoraAdapters lora, TokenBatch batch, long seed) {
    DropoutMasks masks = DropoutMasks.draw(model.config(), new RandomStream(seed), DataType.DOUBLE,
        batch.batchSize(), batch.length(), model.adapters());
    long dropped = lora.adapters().stream().filter(a -> a.dropout() > 0).count();
    assertEquals(dropped, masks == null ? 0 : masks.adapters().size(), "one mask per adapter with dropout");
    double normalizer = batch.weightSum();
    model.zeroGradients();
    double loss = model.accumulateGradients(batch, normalizer, masks);
    assertEquals(loss, model.trainingLoss(batch, normalizer, masks), 1e-12);
    GradientCheck.assertGradients(lora.parameters().views(), lora.gradients().views(),
        () -> model.trainingLoss(batch, normalizer, masks), 3, seed);
    assertEquals(0.0, model.gradients().vector().amaxNumber().doubleValue(), "the base is frozen: no weight gradient");
  }

  @Test
  void freshAdaptersLeaveTheModelExactlyAsItWas() {
    ModelConfig c = new ModelConfig(11, 6, 8, 2, 2, 0.0, true, false);
    GptModel model = new GptModel(GradientCheck.randomParameters(c, 0.5, 1), 0);
    INDArray before = model.logits(batch(c, 2).inputs()).dup();
    LoraAdapters lora = new LoraAdapters(c, model.parameters(), 2, 4, ALL, 3);
    assertEquals(2 * 4 + 1, lora.targets().size(), "qkv, proj, fc, proj per block, and the head");
    model.adapt(lora.adapters());
    assertSame(before, model.logits(batch(c, 2).inputs()), "computed beside the weights");
    model.adapt(List.of());
    lora.applyTo(model.parameters());
    assertSame(before, model.logits(batch(c, 2).inputs()), "merged into them");
  }

  @Test
  void adapterGradientsOnEveryGpt2TargetMatchFiniteDifferencesWithDropout() {
    // dropout 0.1 in the model and 0.3 on each adapter's input; qkv bias; ignored targets and weights in the batch
    ModelConfig c = GradientCheck.tinyConfig(true, false);
    TokenBatch batch = new TokenBatch(GptModelTest.INPUTS, GptModelTest.TARGETS, GptModelTest.WEIGHTS);
    GptModel model = new GptModel(GradientCheck.randomParameters(c, 0.5, 4), 0);
    assertAdapterGradients(model, attached(model, 0.3, ALL, 5), batch, 6);
  }

  @Test
  void queryKeyAndValueAdaptersAreColumnSlicesOfTheFusedWeight() {
    ModelConfig c = GradientCheck.tinyConfig(true, false);
    GptModel model = new GptModel(GradientCheck.randomParameters(c, 0.5, 7), 0);
    LoraAdapters lora = attached(model, 0.2, List.of("attn_v", "attn_q", "attn_k"), 8);
    assertEquals(List.of("trf_blocks.0.att.q", "trf_blocks.0.att.k", "trf_blocks.0.att.v", "trf_blocks.1.att.q",
        "trf_blocks.1.att.k", "trf_blocks.1.att.v"), lora.targets(), "in q, k, v order whatever the listed order");
    assertArrayEquals(new long[] {2, 8}, lora.parameters().get("trf_blocks.1.att.k.lora_B").shape());
    assertAdapterGradients(model, lora, batch(c, 9), 10);
  }

  @Test
  void adaptersOnALlamaAreExactToo() {
    // RMSNorm/SwiGLU/RoPE/GQA: the fused qkv is [C, (H + 2K)·D] = [16, 32] with 4 query and 2 key/value heads of 4
    ModelConfig c = GradientCheck.tinyLlama(ModelConfig.RMSNORM, false);
    GptModel fused = new GptModel(GradientCheck.randomParameters(c, 0.5, 14), 0);
    LoraAdapters lora = attached(fused, 0.0, ALL, 15);
    assertArrayEquals(new long[] {2, 32}, lora.parameters().get(ParamNames.block(0, ParamNames.QKV_WEIGHT)
        + ".lora_B").shape());
    assertAdapterGradients(fused, lora, batch(c, 17), 18);

    List<String> split = List.of("attn_q", "attn_k", "attn_v", "attn_proj", "mlp_gate", "mlp_up", "mlp_proj", "head");
    GptModel model = new GptModel(GradientCheck.randomParameters(c, 0.5, 19), 0);
    LoraAdapters separate = attached(model, 0.25, split, 20);
    assertEquals(2 * 7 + 1, separate.targets().size());
    assertArrayEquals(new long[] {2, 16}, separate.parameters().get("trf_blocks.0.att.q.lora_B").shape());
    assertArrayEquals(new long[] {2, 8}, separate.parameters().get("trf_blocks.0.att.v.lora_B").shape());
    assertArrayEquals(new long[] {16, 2}, separate.parameters().get(ParamNames.block(1, ParamNames.FF_GATE_WEIGHT)
        + ".lora_A").shape());
    assertAdapterGradients(model, separate, batch(c, 21), 22);
  }

  @Test
  void mergedWeightsGiveTheUnmergedLogitsAndTheBaseComesBackBitForBit() {
    for (ModelConfig c : List.of(GradientCheck.tinyConfig(true, false),
        GradientCheck.tinyLlama(ModelConfig.RMSNORM, false))) {
      GptModel model = new GptModel(GradientCheck.randomParameters(c, 0.5, 23), 0);
      INDArray base = model.parameters().vector().dup();
      List<String> targets = c.usesSwiGlu()
          ? List.of("attn_q", "attn_k", "attn_v", "attn_proj", "mlp_gate", "mlp_fc", "mlp_proj", "head") : ALL;
      LoraAdapters lora = attached(model, 0.5, targets, 24);     // dropout is training-only: logits are eval mode
      int[][] inputs = batch(c, 25).inputs();
      INDArray unmerged = model.logits(inputs).dup();
      assertThrows(IllegalStateException.class, () -> model.nextLogits(inputs[0]), "generation needs merged weights");
      model.adapt(List.of());
      lora.applyTo(model.parameters());
      assertTrue(lora.merged());
      INDArray merged = model.logits(inputs);
      assertTrue(merged.sub(unmerged).amaxNumber().doubleValue() < 1e-12, c.usesSwiGlu() + ": merged - unmerged "
          + merged.sub(unmerged).amaxNumber());
      assertNotEquals(base, model.parameters().vector());
      merged = merged.dup();
      lora.applyTo(model.parameters());                       // merging again starts from the base, not W'
      assertSame(merged, model.logits(inputs), "merged twice");
      lora.restoreBase();
      assertSame(base, model.parameters().vector(), "base restored");
    }
  }

  @Test
  void onlyAdaptersTrainTheBaseStaysBitIdenticalAndCheckpointsHoldAdaptersOnly() {
    ModelConfig c = new ModelConfig(11, 6, 8, 2, 1, 0.0, false, false);
    GptModel model = GptModel.initialize(c, DataType.FLOAT, 9);
    INDArray base = model.parameters().vector().dup();
    LoraAdapters lora = new LoraAdapters(c, model.parameters(), 4, 8, List.of("attn_qkv", "head"), 10);
    GptStepModel step = new LoraStepModel(model, ADAM, lora);
    assertEquals(lora.parameters().size(), step.parameterCount());
    // MFU's FLOPs: 6·856 matmul weights + 12·1·8·6 attention, less 2·856 (no base weight gradients), plus 6 per
    // adapter parameter (qkv: 8·4 + 4·24, head: 8·4 + 4·11 = 204)
    assertEquals(204, step.parameterCount());
    assertEquals(6 * 856 + 576 - 2 * 856 + 6 * 204, step.flopsPerToken(), 1e-9);
    TokenBatch b = batch(c, 11);
    double first = step.step(new int[][][] {b.inputs()}, new int[][][] {b.targets()}, 0.05, 1.0).loss();
    double last = first;
    for (int i = 0; i < 60; i++) {
      last = step.step(new int[][][] {b.inputs()}, new int[][][] {b.targets()}, 0.05, 1.0).loss();
    }
    assertTrue(last < first * 0.7, "loss " + first + " -> " + last);
    assertSame(base, model.parameters().vector(), "training leaves every base weight as it was");
    assertTrue(step.weights().keySet().stream().allMatch(k -> k.contains(".lora_")), step.weights().keySet()
        .toString());
    INDArray adapted = model.logits(b.inputs()).dup();

    // generation merges (greedy ids as from a plain model over the merged weights); the next step unmerges
    int[] generated = step.generate(new int[] {1, 2, 3}, 3, -1, c.vocabSize(),
        dev.sparkgpt.generate.Sampler.greedy());
    GptModel plain = new GptModel(GptParameters.fromMap(c, model.parameters().toMap(DataType.FLOAT), DataType.FLOAT),
        0);
    assertArrayEquals(new GptStepModel(plain, null).generate(new int[] {1, 2, 3}, 3, -1, c.vocabSize(),
        dev.sparkgpt.generate.Sampler.greedy()), generated);
    assertTrue(plain.logits(b.inputs()).sub(adapted).amaxNumber().doubleValue() < 1e-5, "merged ≈ unmerged");
    step.step(new int[][][] {b.inputs()}, new int[][][] {b.targets()}, 0.05, 1.0);
    assertSame(base, model.parameters().vector(), "the base is back after generating");
    assertFalse(lora.merged());

    // restore into a fresh model over the same base: same logits
    GptModel again = new GptModel(GptParameters.fromVector(c, base, DataType.FLOAT), 0);
    GptStepModel restored = new LoraStepModel(again, ADAM, new LoraAdapters(c, again.parameters(), 4, 8,
        List.of("attn_qkv", "head"), 99));
    restored.restore(step.weights(), step.optimizerState(), step.rngState());
    assertSame(model.logits(b.inputs()), again.logits(b.inputs()), "adapters restored = same adapted model");
  }

  /** The losses of {@code steps} steps on batch {@code b}. */
  private static List<Double> losses(GptStepModel step, TokenBatch b, int steps) {
    List<Double> losses = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      losses.add(step.step(new int[][][] {b.inputs()}, new int[][][] {b.targets()}, 0.05, 1.0).loss());
    }
    return losses;
  }

  private static GptStepModel loraStep(ModelConfig c, double dropout, long adapterSeed) {
    GptModel model = GptModel.initialize(c, DataType.FLOAT, 30);
    return new LoraStepModel(model, ADAM, new LoraAdapters(c, model.parameters(), 4, 8, dropout, ALL, adapterSeed));
  }

  @Test
  void adapterDropoutChangesTrainingAndResumesBitForBit() {
    ModelConfig c = new ModelConfig(11, 6, 8, 2, 2, 0.0, false, false);        // no dropout in the model itself
    TokenBatch b = batch(c, 31);
    List<Double> plain = losses(loraStep(c, 0.0, 32), b, 4);
    GptStepModel straight = loraStep(c, 0.3, 32);
    List<Double> dropped = losses(straight, b, 4);
    assertEquals(plain.get(0), dropped.get(0), 0.0, "B = 0 at the start: the adapters add nothing yet");
    assertNotEquals(plain.subList(1, 4), dropped.subList(1, 4), "dropout on the adapters' input changes training");

    GptStepModel first = loraStep(c, 0.3, 32);
    assertEquals(dropped.subList(0, 2), losses(first, b, 2));
    Map<String, INDArray> weights = first.weights();
    Map<String, INDArray> optimizer = first.optimizerState();
    GptStepModel resumed = loraStep(c, 0.3, 77);                              // other init: restore replaces it
    resumed.restore(weights, optimizer, first.rngState());
    assertEquals(dropped.subList(2, 4), losses(resumed, b, 2), "the same masks after resuming");
    straight.weights().forEach((name, value) -> assertSame(value, resumed.weights().get(name), name));
  }

  @Test
  void badTargetsAndDropoutAreRefusedByName() {
    ModelConfig tied = new ModelConfig(11, 6, 8, 2, 1, 0.0, false, true);
    GptParameters p = GptParameters.zeros(tied, DataType.FLOAT);
    ConfigException e = assertThrows(ConfigException.class, () -> new LoraAdapters(tied, p, 2, 4, List.of("head"),
        1));
    assertTrue(e.getMessage().startsWith("lora.targets: [head] match no weight of this model (its head is the tied "
        + "token embedding"), e.getMessage());
    e = assertThrows(ConfigException.class, () -> new LoraAdapters(tied, p, 2, 4, List.of("attention"), 1));
    assertEquals("lora.targets: 'attention' matches no layer. Fix: use some of [attn_k, attn_proj, attn_q, attn_qkv, "
        + "attn_v, head, mlp_fc, mlp_gate, mlp_proj, mlp_up]", e.getMessage());
    e = assertThrows(ConfigException.class, () -> new LoraAdapters(tied, p, 2, 4, List.of("mlp_gate"), 1));
    assertTrue(e.getMessage().startsWith("lora.targets: [mlp_gate] match no weight of this model."), e.getMessage());
    e = assertThrows(ConfigException.class, () -> new LoraAdapters(tied, p, 2, 4, List.of("attn_k", "attn_qkv"), 1));
    assertEquals("lora.targets: attn_qkv and attn_k both adapt att.qkv.weight. Fix: keep one of them", e.getMessage());
    e = assertThrows(ConfigException.class, () -> new LoraAdapters(tied, p, 2, 4, 1.0, List.of("attn_q"), 1));
    assertEquals("lora.dropout: must be in [0, 1), got 1.0. Fix: set lora.dropout (e.g. 0.05) or 0 for none",
        e.getMessage());
  }
}
