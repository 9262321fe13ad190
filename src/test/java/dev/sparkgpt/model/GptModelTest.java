package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The whole explicit GPT: gradients of the training loss, causality, dropout and eval modes, initial loss. */
class GptModelTest {
  static {
    OneThread.pin();
  }

  static final int[][] INPUTS = {{3, 1, 3, 10, 0}, {1, 1, 7, 3, 2}};
  static final int[][] TARGETS = {{1, 3, -100, 0, 5}, {1, 7, 3, 2, -100}};
  static final float[][] WEIGHTS = {{1f, 0.5f, 1f, 2f, 0f}, {1f, 1f, 3f, 0.25f, 1f}};

  /** Checks every parameter of {@code model} (2 sampled entries each) on the training loss with fixed masks. */
  static void assertModelGradients(GptModel model, TokenBatch batch, long seed) {
    DropoutMasks masks = DropoutMasks.draw(model.config(), new RandomStream(seed), DataType.DOUBLE,
        batch.batchSize(), batch.length());
    double normalizer = batch.weightSum();
    model.zeroGradients();
    double loss = model.accumulateGradients(batch, normalizer, masks);
    assertEquals(loss, model.trainingLoss(batch, normalizer, masks), 1e-12);
    Map<String, INDArray> values = new LinkedHashMap<>(model.parameters().views());
    GradientCheck.assertGradients(values, model.gradients().views(),
        () -> model.trainingLoss(batch, normalizer, masks), 2, seed);
  }

  @Test
  void tiedModelGradientsWithIgnoreIndexWeightsAndDropout() {
    ModelConfig config = GradientCheck.tinyConfig(true, true);
    GptModel model = new GptModel(GradientCheck.randomParameters(config, 0.3, 11), 0);
    assertModelGradients(model, new TokenBatch(INPUTS, TARGETS, WEIGHTS), 12);
  }

  @Test
  void tiedEmbeddingGradientIsTheSumOfLookupAndHead() {
    // the tied matrix is used twice: check whole rows of ids seen as input only (10), as target only (5, 2), as
    // both (1, 3, 7) and never (4), where the gradient is the head's alone
    ModelConfig config = GradientCheck.tinyConfig(false, true);
    GptModel model = new GptModel(GradientCheck.randomParameters(config, 0.3, 13), 0);
    TokenBatch batch = new TokenBatch(INPUTS, TARGETS);
    model.zeroGradients();
    model.accumulateGradients(batch, batch.weightSum(), null);
    INDArray tied = model.parameters().get(ParamNames.TOKEN_EMBEDDING);
    INDArray gradient = model.gradients().get(ParamNames.TOKEN_EMBEDDING);
    for (int id : new int[] {10, 5, 1, 7, 4}) {
      GradientCheck.assertGradients(Map.of("tok_emb[" + id + "]", tied.getRow(id)),
          Map.of("tok_emb[" + id + "]", gradient.getRow(id)),
          () -> model.trainingLoss(batch, batch.weightSum(), null), (int) tied.size(1), 14);
    }
  }

  @Test
  void untiedModelGradients() {
    ModelConfig config = GradientCheck.tinyConfig(false, false);
    GptModel model = new GptModel(GradientCheck.randomParameters(config, 0.3, 15), 0);
    assertTrue(model.parameters().names().contains(ParamNames.OUT_HEAD));
    assertModelGradients(model, new TokenBatch(INPUTS, TARGETS, WEIGHTS), 16);
  }

  @Test
  void changingAFutureTokenLeavesEarlierLogitsUnchanged() {
    GptModel model = GptModel.initialize(GradientCheck.tinyConfig(true, true), DataType.FLOAT, 3);
    INDArray before = model.logits(INPUTS);
    int[][] changed = {INPUTS[0].clone(), INPUTS[1].clone()};
    changed[0][3] = 9;
    INDArray after = model.logits(changed);
    assertEquals(before.get(NDArrayIndex.point(0), NDArrayIndex.interval(0, 3), NDArrayIndex.all()),
        after.get(NDArrayIndex.point(0), NDArrayIndex.interval(0, 3), NDArrayIndex.all()));
    assertNotEquals(before.get(NDArrayIndex.point(0), NDArrayIndex.point(3), NDArrayIndex.all()),
        after.get(NDArrayIndex.point(0), NDArrayIndex.point(3), NDArrayIndex.all()));
    assertEquals(before.get(NDArrayIndex.point(1)), after.get(NDArrayIndex.point(1)), "other sequence");
  }

  @Test
  void evalModeIsDeterministicAndTrainingModeDropsOut() {
    GptModel model = GptModel.initialize(GradientCheck.tinyConfig(true, true), DataType.FLOAT, 4);
    INDArray eval = model.logits(INPUTS);
    long state = model.random().state();
    assertEquals(eval, model.logits(INPUTS));
    assertEquals(state, model.random().state(), "eval draws nothing");
    INDArray train1 = model.logits(INPUTS, true);
    INDArray train2 = model.logits(INPUTS, true);
    assertNotEquals(eval, train1);
    assertNotEquals(train1, train2);
    model.random().setState(state);
    assertEquals(train1, model.logits(INPUTS, true), "same stream state, same masks");
  }

  @Test
  void noDropoutWhenDropRateIsZero() {
    ModelConfig config = new ModelConfig(11, 6, 8, 2, 1, 0.0, true, true);
    GptModel model = GptModel.initialize(config, DataType.FLOAT, 5);
    assertEquals(model.logits(INPUTS), model.logits(INPUTS, true));
  }

  @Test
  void untrainedLossIsNearLogVocab() {
    ModelConfig config = new ModelConfig(1000, 32, 32, 4, 2, 0.1, true, true);
    GptModel model = GptModel.initialize(config, DataType.FLOAT, 6);
    int[][] inputs = new int[4][32];
    int[][] targets = new int[4][32];
    RandomStream random = new RandomStream(6);
    for (int b = 0; b < 4; b++) {
      for (int t = 0; t < 32; t++) {
        inputs[b][t] = (int) (random.nextDouble() * 1000);
        targets[b][t] = (int) (random.nextDouble() * 1000);
      }
    }
    double loss = model.loss(new TokenBatch(inputs, targets));
    assertEquals(Math.log(1000), loss, 0.05);
    double trainLoss = model.accumulateGradients(new TokenBatch(inputs, targets), 4 * 32);
    assertEquals(Math.log(1000), trainLoss, 0.05);
  }

  @Test
  void meanLossEqualsTheWeightedMeanOfTokenLosses() {
    GptModel model = new GptModel(GradientCheck.randomParameters(GradientCheck.tinyConfig(true, true), 0.3, 17), 0);
    INDArray logits = model.logits(INPUTS);
    double sum = 0;
    double weights = 0;
    for (int b = 0; b < 2; b++) {
      for (int t = 0; t < 5; t++) {
        if (TARGETS[b][t] < 0) {
          continue;
        }
        INDArray z = logits.get(NDArrayIndex.point(b), NDArrayIndex.point(t), NDArrayIndex.all());
        double max = z.maxNumber().doubleValue();
        double lse = max + Math.log(org.nd4j.linalg.ops.transforms.Transforms.exp(z.sub(max)).sumNumber().doubleValue());
        sum += WEIGHTS[b][t] * (lse - z.getDouble(TARGETS[b][t]));
        weights += WEIGHTS[b][t];
      }
    }
    assertEquals(sum / weights, model.loss(new TokenBatch(INPUTS, TARGETS, WEIGHTS)), 1e-12);
  }

  @Test
  void refusesIdsOutsideTheVocabularyAndSequencesLongerThanTheContext() {
    GptModel model = GptModel.initialize(GradientCheck.tinyConfig(true, true), DataType.FLOAT, 7);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> model.loss(new TokenBatch(new int[][] {{1, 11}}, new int[][] {{1, 2}})));
    assertTrue(e.getMessage().contains("input id 11 at [0][1]"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> model.loss(new TokenBatch(new int[][] {{1, 2}}, new int[][] {{1, -1}})));
    assertTrue(e.getMessage().contains("target id -1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> model.logits(new int[][] {{1, 2, 3, 4, 5, 6, 7}}));
    assertTrue(e.getMessage().contains("context_length 6"), e.getMessage());
  }

  @Test
  void parametersRoundTripThroughNamedTensorsAndOneVector() {
    GptModel model = GptModel.initialize(GradientCheck.tinyConfig(true, false), DataType.FLOAT, 8);
    INDArray logits = model.logits(INPUTS);
    GptParameters fromMap = GptParameters.fromMap(model.config(), model.parameters().toMap(DataType.FLOAT),
        DataType.FLOAT);
    assertEquals(logits, new GptModel(fromMap, 0).logits(INPUTS));
    INDArray vector = model.parameters().flatten();
    assertEquals(model.config().parameterCount(), vector.length());
    GptParameters fromVector = GptParameters.fromVector(model.config(), vector, DataType.FLOAT);
    assertEquals(logits, new GptModel(fromVector, 0).logits(INPUTS));
    vector.putScalar(0, 42);
    assertNotEquals(42.0, model.parameters().vector().getDouble(0), "flatten is a copy");
    GptParameters asDouble = model.parameters().copy(DataType.DOUBLE);
    assertEquals(DataType.DOUBLE, asDouble.get(ParamNames.OUT_HEAD).dataType());
    assertEquals(logits.castTo(DataType.DOUBLE).sub(new GptModel(asDouble, 0).logits(INPUTS)).amaxNumber()
        .doubleValue(), 0, 1e-5);
  }

  @Test
  void namedTensorsWithAWrongShapeOrNameAreRefusedWithBoth() {
    ModelConfig config = GradientCheck.tinyConfig(true, true);
    Map<String, INDArray> tensors = GptParameters.initialize(config, DataType.FLOAT, 1).toMap(DataType.FLOAT);
    tensors.put(ParamNames.POSITION_EMBEDDING, tensors.get(ParamNames.POSITION_EMBEDDING).get(
        NDArrayIndex.interval(0, 5), NDArrayIndex.all()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GptParameters.fromMap(config, tensors, DataType.FLOAT));
    assertTrue(e.getMessage().contains("pos_emb.weight") && e.getMessage().contains("[5, 8]")
        && e.getMessage().contains("[6, 8]"), e.getMessage());
    tensors.remove(ParamNames.POSITION_EMBEDDING);
    e = assertThrows(IllegalArgumentException.class, () -> GptParameters.fromMap(config, tensors, DataType.FLOAT));
    assertTrue(e.getMessage().contains("'pos_emb.weight' is missing"), e.getMessage());
    tensors.put("wpe", tensors.get(ParamNames.TOKEN_EMBEDDING));
    e = assertThrows(IllegalArgumentException.class, () -> GptParameters.fromMap(config, tensors, DataType.FLOAT));
    assertTrue(e.getMessage().contains("unknown parameter 'wpe'"), e.getMessage());
  }

  @Test
  void initializationFollowsGpt2AndIsSeeded() {
    ModelConfig config = new ModelConfig(500, 64, 64, 4, 3, 0.1, true, true);
    GptParameters p = GptParameters.initialize(config, DataType.FLOAT, 9);
    assertEquals(0.02, p.get(ParamNames.TOKEN_EMBEDDING).stdNumber().doubleValue(), 0.001);
    assertEquals(0.02, p.get(ParamNames.block(0, ParamNames.FF_UP_WEIGHT)).stdNumber().doubleValue(), 0.001);
    double residual = 0.02 / Math.sqrt(2 * 3);
    assertEquals(residual, p.get(ParamNames.block(2, ParamNames.FF_DOWN_WEIGHT)).stdNumber().doubleValue(), 0.0005);
    assertEquals(residual, p.get(ParamNames.block(1, ParamNames.ATTENTION_OUT_WEIGHT)).stdNumber().doubleValue(),
        0.001);
    assertEquals(0.0, p.get(ParamNames.block(1, ParamNames.QKV_BIAS)).amaxNumber().doubleValue());
    assertEquals(1.0, p.get(ParamNames.block(1, ParamNames.NORM2_SCALE)).minNumber().doubleValue());
    assertEquals(0.0, p.get(ParamNames.FINAL_NORM_SHIFT).amaxNumber().doubleValue());
    assertEquals(p.vector(), GptParameters.initialize(config, DataType.FLOAT, 9).vector());
    assertFalse(p.vector().equals(GptParameters.initialize(config, DataType.FLOAT, 10).vector()));
    assertArrayEquals(new long[] {64, 192}, p.get(ParamNames.block(0, ParamNames.QKV_WEIGHT)).shape());
  }

  @Test
  void presetLayoutsHaveTheConfigsParameterCount() {
    for (ModelConfig config : new ModelConfig[] {new ModelConfig(50257, 1024, 768, 12, 12, 0.1, true, true),
        new ModelConfig(50257, 1024, 768, 12, 12, 0.1, false, false), GradientCheck.tinyConfig(true, false)}) {
      long sum = ParamNames.shapes(config).values().stream()
          .mapToLong(shape -> java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)).sum();
      assertEquals(config.parameterCount(), sum, config.toString());
    }
  }
}
