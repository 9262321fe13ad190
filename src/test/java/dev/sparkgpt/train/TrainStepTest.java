package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.model.TokenBatch;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Training steps: accumulation, clipping, divergence, bit-identical reruns and resume, and overfitting a text. */
class TrainStepTest {
  static {
    OneThread.pin();
  }

  private static final ModelConfig SMALL = new ModelConfig(16, 8, 16, 2, 2, 0.1, true, true);
  private static final int[][] INPUTS = {{1, 5, 9, 2, 7, 7, 3, 0}, {4, 4, 8, 15, 1, 6, 2, 9}};
  private static final int[][] TARGETS = {{5, 9, 2, 7, 7, 3, 0, -100}, {4, 8, 15, 1, 6, 2, 9, 11}};

  private static TrainStep newStep(ModelConfig config, DataType type, long seed) {
    GptModel model = GptModel.initialize(config, type, seed);
    return new TrainStep(model, new AdamW(model.parameters(), 0.9, 0.95, 1e-8, 0.1));
  }

  private static float[] weightsOf(TrainStep step) {
    return step.model().parameters().vector().toFloatVector();
  }

  @Test
  void microBatchesAccumulateToTheFullBatchStep() {
    ModelConfig noDropout = new ModelConfig(16, 8, 16, 2, 2, 0.0, true, true);
    TrainStep whole = newStep(noDropout, DataType.DOUBLE, 1);
    TrainStep split = newStep(noDropout, DataType.DOUBLE, 1);
    TrainStep.Result a = whole.step(List.of(new TokenBatch(INPUTS, TARGETS)), 1e-3, 0);
    TrainStep.Result b = split.step(List.of(new TokenBatch(new int[][] {INPUTS[0]}, new int[][] {TARGETS[0]}),
        new TokenBatch(new int[][] {INPUTS[1]}, new int[][] {TARGETS[1]})), 1e-3, 0);
    assertEquals(a.loss(), b.loss(), 1e-12);
    assertEquals(a.gradNorm(), b.gradNorm(), 1e-12);
    assertEquals(15, a.targets());
    assertEquals(0.0, whole.model().parameters().vector().sub(split.model().parameters().vector()).amaxNumber()
        .doubleValue(), 1e-12);
  }

  @Test
  void clipsToTheGlobalNormAndReportsTheNormBeforeClipping() {
    ModelConfig noDropout = new ModelConfig(16, 8, 16, 2, 2, 0.0, true, true);
    TrainStep clipped = newStep(noDropout, DataType.DOUBLE, 2);
    TokenBatch batch = new TokenBatch(INPUTS, TARGETS);
    TrainStep.Result r = clipped.step(List.of(batch), 1e-3, 0.01);
    assertTrue(r.gradNorm() > 0.01, "norm " + r.gradNorm());
    assertEquals(0.01 / (r.gradNorm() + 1e-6), r.clipScale(), 1e-15);
    // the same update by hand: AdamW on the gradient scaled by the clip factor
    GptModel reference = GptModel.initialize(noDropout, DataType.DOUBLE, 2);
    reference.accumulateGradients(batch, batch.weightSum());
    assertEquals(r.gradNorm(), reference.gradients().vector().norm2Number().doubleValue(), 1e-12);
    new AdamW(reference.parameters(), 0.9, 0.95, 1e-8, 0.1).step(reference.parameters(), reference.gradients(),
        1e-3, r.clipScale());
    assertEquals(0.0, reference.parameters().vector().sub(clipped.model().parameters().vector()).amaxNumber()
        .doubleValue(), 1e-15);
    assertEquals(1.0, newStep(noDropout, DataType.DOUBLE, 2).step(List.of(batch), 1e-3, 1e6).clipScale());
  }

  @Test
  void nonFiniteLossStopsBeforeTheWeightsChange() {
    TrainStep step = newStep(SMALL, DataType.FLOAT, 3);
    step.model().parameters().get(ParamNames.block(1, ParamNames.FF_UP_BIAS)).putScalar(0, Float.POSITIVE_INFINITY);
    float[] before = weightsOf(step);
    TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
        () -> step.step(List.of(new TokenBatch(INPUTS, TARGETS)), 1e-3, 1.0));
    assertTrue(e.getMessage().contains("optimizer step 1: loss NaN"), e.getMessage());
    assertTrue(e.getMessage().contains("first non-finite gradient"), e.getMessage());
    assertTrue(e.getMessage().contains("not updated"), e.getMessage());
    assertArrayEquals(before, weightsOf(step));
    assertEquals(0, step.optimizer().stepCount());
  }

  @Test
  void sameSeedGivesBitIdenticalWeightsAfterFiveSteps() {
    float[] first = runSteps(newStep(SMALL, DataType.FLOAT, 4), 5);
    float[] second = runSteps(newStep(SMALL, DataType.FLOAT, 4), 5);
    assertArrayEquals(first, second);
    assertFalse(java.util.Arrays.equals(first, runSteps(newStep(SMALL, DataType.FLOAT, 5), 5)));
  }

  @Test
  void resumingFromSavedWeightsMomentsAndRngIsBitIdentical() {
    float[] straight = runSteps(newStep(SMALL, DataType.FLOAT, 6), 5);
    TrainStep before = newStep(SMALL, DataType.FLOAT, 6);
    runSteps(before, 3);
    Map<String, INDArray> weights = before.model().parameters().toMap(DataType.FLOAT);
    Map<String, INDArray> moments = before.optimizer().state();
    long rng = before.model().random().state();
    GptModel model = new GptModel(GptParameters.fromMap(SMALL, weights, DataType.FLOAT), 0);
    model.random().setState(rng);
    AdamW adam = new AdamW(model.parameters(), 0.9, 0.95, 1e-8, 0.1);
    adam.loadState(moments);
    TrainStep resumed = new TrainStep(model, adam);
    for (int s = 3; s < 5; s++) {
      resumed.step(List.of(new TokenBatch(INPUTS, TARGETS)), new LrSchedule(1e-2, 1e-3, 2, 5).at(s), 1.0);
    }
    assertArrayEquals(straight, weightsOf(resumed));
  }

  private static float[] runSteps(TrainStep step, int steps) {
    LrSchedule schedule = new LrSchedule(1e-2, 1e-3, 2, 5);
    for (int s = 0; s < steps; s++) {
      step.step(List.of(new TokenBatch(INPUTS, TARGETS)), schedule.at(s), 1.0);
    }
    return weightsOf(step);
  }

  @Test
  void tinyModelOverfitsAParagraph() {
    String text = "Every effort moves you, said the painter. I had always thought Jack Gisburn rather a cheap "
        + "genius, though a good fellow enough, so it was no great surprise to me to hear that, in the height of "
        + "his glory, he had dropped his painting, married a rich widow, and established himself in a villa.";
    String alphabet = text.chars().distinct().sorted().collect(StringBuilder::new, StringBuilder::appendCodePoint,
        StringBuilder::append).toString();
    int time = 64;
    int batch = text.length() / (time + 1);
    int[][] inputs = new int[batch][time];
    int[][] targets = new int[batch][time];
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < time; t++) {
        inputs[b][t] = alphabet.indexOf(text.charAt(b * (time + 1) + t));
        targets[b][t] = alphabet.indexOf(text.charAt(b * (time + 1) + t + 1));
      }
    }
    ModelConfig config = new ModelConfig(alphabet.length(), time, 32, 2, 2, 0.0, false, true);
    GptModel model = GptModel.initialize(config, DataType.FLOAT, 7);
    TrainStep step = new TrainStep(model, new AdamW(model.parameters(), 0.9, 0.95, 1e-8, 0.0));
    TokenBatch data = new TokenBatch(inputs, targets);
    double first = Double.NaN;
    double loss = Double.NaN;
    long start = System.nanoTime();
    for (int s = 0; s < 300 && !(loss < 0.4); s++) {
      loss = step.step(List.of(data), 1e-2, 1.0).loss();
      first = s == 0 ? loss : first;
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    assertEquals(Math.log(alphabet.length()), first, 0.1, "starts at ln(vocab)");
    assertTrue(model.loss(data) < 0.5, "train loss " + model.loss(data) + " after " + seconds + " s on "
        + batch * time + " tokens");
  }
}
