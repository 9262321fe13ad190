package dev.sparkgpt.model.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.DropoutMasks;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.model.RandomStream;
import dev.sparkgpt.model.TokenBatch;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The SameDiff graph against finite differences, and the explicit GptModel against the graph: same loss and the same
 * gradient for every parameter, in float64, with dropout masks, ignored targets and loss weights.
 */
class GptGraphTest {
  static {
    OneThread.pin();
  }

  static final int[][] INPUTS = {{3, 1, 3, 10, 0}, {1, 1, 7, 3, 2}};
  static final int[][] TARGETS = {{1, 3, -100, 0, 5}, {1, 7, 3, 2, -100}};
  static final float[][] WEIGHTS = {{1f, 0.5f, 1f, 2f, 0f}, {1f, 1f, 3f, 0.25f, 1f}};

  static GptParameters randomParameters(ModelConfig config, long seed) {
    GptParameters p = GptParameters.zeros(config, DataType.DOUBLE);
    double[] values = new double[(int) p.size()];
    new RandomStream(seed).fillGaussian(values, 0.3);
    p.vector().assign(Nd4j.createFromArray(values));
    return p;
  }

  private static void assertSameLossAndGradients(ModelConfig config, TokenBatch batch, long seed) {
    GptParameters params = randomParameters(config, seed);
    DropoutMasks masks = DropoutMasks.draw(config, new RandomStream(seed), DataType.DOUBLE, 2, 5);
    GptGraph graph = GptGraph.build(params, 2, 5, true);
    GptModel model = new GptModel(params, 0);
    double explicitLoss = model.accumulateGradients(batch, batch.weightSum(), masks);
    assertEquals(graph.loss(batch, masks), explicitLoss, 1e-12);
    Map<String, INDArray> graphGradients = graph.gradients(batch, masks);
    assertEquals(params.names(), graphGradients.keySet());
    for (String name : params.names()) {
      INDArray expected = graphGradients.get(name);
      INDArray actual = model.gradients().get(name);
      double scale = Math.max(1e-3, expected.amaxNumber().doubleValue());
      double difference = expected.sub(actual).amaxNumber().doubleValue();
      assertTrue(difference / scale < 1e-9, name + ": explicit and graph gradients differ by " + difference
          + " (largest entry " + scale + ")");
    }
  }

  @Test
  void explicitModelMatchesTheGraphWithDropoutIgnoreIndexAndWeights() {
    assertSameLossAndGradients(new ModelConfig(11, 6, 8, 2, 2, 0.1, true, true),
        new TokenBatch(INPUTS, TARGETS, WEIGHTS), 21);
  }

  @Test
  void explicitModelMatchesTheGraphUntiedWithoutBiasOrDropout() {
    assertSameLossAndGradients(new ModelConfig(11, 6, 8, 2, 2, 0.0, false, false),
        new TokenBatch(INPUTS, TARGETS), 22);
  }

  @Test
  void graphGradientsMatchFiniteDifferences() {
    ModelConfig config = new ModelConfig(11, 6, 8, 2, 1, 0.1, true, true);
    GptParameters params = randomParameters(config, 23);
    DropoutMasks masks = DropoutMasks.draw(config, new RandomStream(23), DataType.DOUBLE, 2, 5);
    TokenBatch batch = new TokenBatch(INPUTS, TARGETS, WEIGHTS);
    GptGraph graph = GptGraph.build(params, 2, 5, true);
    Map<String, INDArray> gradients = graph.gradients(batch, masks);
    Random random = new Random(23);
    for (String name : params.names()) {
      INDArray value = graph.sameDiff().getVariable(name).getArr();
      for (int s = 0; s < 1; s++) { // one entry per tensor: each graph evaluation costs ~0.1 s of SameDiff overhead
        long i = (long) (random.nextDouble() * value.length());
        double original = value.getDouble(i);
        value.putScalar(i, original + 1e-6);
        double plus = graph.loss(batch, masks);
        value.putScalar(i, original - 1e-6);
        double minus = graph.loss(batch, masks);
        value.putScalar(i, original);
        double numeric = (plus - minus) / 2e-6;
        double exact = gradients.get(name).getDouble(i);
        double error = Math.abs(exact - numeric) / Math.max(Math.abs(exact) + Math.abs(numeric), 1e-4);
        assertTrue(error <= 1e-5, name + "[" + i + "]: graph " + exact + " vs numeric " + numeric);
      }
    }
  }

  @Test
  void evalGraphLogitsEqualTheModelsLogits() {
    ModelConfig config = new ModelConfig(11, 6, 8, 2, 2, 0.1, true, true);
    GptParameters params = randomParameters(config, 24);
    INDArray graphLogits = GptGraph.build(params, 2, 5, false).logits(INPUTS, null);
    INDArray modelLogits = new GptModel(params, 0).logits(INPUTS);
    assertEquals(0.0, graphLogits.sub(modelLogits).amaxNumber().doubleValue(), 1e-12);
  }
}
