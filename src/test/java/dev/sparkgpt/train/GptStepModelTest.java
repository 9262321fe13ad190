package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.model.OneThread;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The GPT behind the training loop's StepModel: steps, eval loss, greedy samples, checkpoint state. */
class GptStepModelTest {
  static {
    OneThread.pin();
  }

  private static final ModelConfig CONFIG = new ModelConfig(20, 8, 16, 2, 1, 0.1, true, true);
  private static final PretrainConfig.Optimizer ADAM = new PretrainConfig.Optimizer(1e-2, 1e-3, 0.1, 0.9, 0.95, 1e-8);
  private static final int[][][] INPUTS = {{{1, 2, 3, 4, 5, 6, 7, 8}}, {{2, 4, 6, 8, 10, 12, 14, 16}}};
  private static final int[][][] TARGETS = {{{2, 3, 4, 5, 6, 7, 8, 9}}, {{4, 6, 8, 10, 12, 14, 16, -100}}};

  @Test
  void stepsLowerTheLossAndCountTheTiedModelOnce() {
    GptStepModel m = GptStepModel.create(CONFIG, ADAM, 1);
    double before = m.loss(INPUTS[0], TARGETS[0]);
    StepModel.StepResult last = null;
    for (int s = 0; s < 20; s++) {
      last = m.step(INPUTS, TARGETS, 1e-2, 1.0);
    }
    assertTrue(m.loss(INPUTS[0], TARGETS[0]) < before - 1, "loss " + before + " -> " + m.loss(INPUTS[0], TARGETS[0]));
    assertTrue(last.gradNorm() > 0);
    assertEquals(CONFIG.parameterCount(), m.parameterCount());
    assertEquals(CONFIG.trainingFlopsPerToken(8), m.flopsPerToken());
  }

  @Test
  void generateIsGreedyOverTheLastContextWindow() {
    GptStepModel m = GptStepModel.create(CONFIG, ADAM, 2);
    int[] prompt = {1, 2, 3, 4, 5, 6, 7};
    int[] out = m.generate(prompt, 4, -1);
    assertEquals(4, out.length);
    INDArray logits = m.model().logits(new int[][] {prompt});
    assertEquals(logits.get(NDArrayIndex.point(0), NDArrayIndex.point(6), NDArrayIndex.all()).argMax().getInt(0),
        out[0]);
    int[] stopped = m.generate(prompt, 4, out[0]);
    assertArrayEquals(new int[] {out[0]}, stopped, "stops after the stop id");
    assertArrayEquals(out, m.generate(prompt, 4, -1), "deterministic");
  }

  @Test
  void restoringWeightsOptimizerAndRngContinuesBitIdentically() {
    GptStepModel straight = GptStepModel.create(CONFIG, ADAM, 3);
    GptStepModel first = GptStepModel.create(CONFIG, ADAM, 3);
    for (int s = 0; s < 2; s++) {
      straight.step(INPUTS, TARGETS, 1e-2, 1.0);
      first.step(INPUTS, TARGETS, 1e-2, 1.0);
    }
    GptStepModel resumed = GptStepModel.create(CONFIG, ADAM, 99);
    resumed.restore(first.weights(), first.optimizerState(), first.rngState());
    for (int s = 0; s < 2; s++) {
      straight.step(INPUTS, TARGETS, 1e-2, 1.0);
      resumed.step(INPUTS, TARGETS, 1e-2, 1.0);
    }
    assertArrayEquals(straight.model().parameters().vector().toFloatVector(),
        resumed.model().parameters().vector().toFloatVector());
  }
}
