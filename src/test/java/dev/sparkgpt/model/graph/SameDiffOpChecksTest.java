package dev.sparkgpt.model.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.model.OneThread;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Every SameDiff op the GPT graph uses, checked alone against float64 central differences (ε = 1e-6, relative error
 * ≤ 1e-5 with a 1e-4 floor), and the ops it avoids, with the failure that rules them out (ND4J 1.0.0-M2.1). The
 * workarounds in GraphLayers, GptGraph, Embeddings, FeedForward and LanguageModelHead name these tests.
 */
class SameDiffOpChecksTest {
  static {
    OneThread.pin();
  }

  private static final double EPS = 1e-6;

  private static INDArray random(long seed, long... shape) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.randn(DataType.DOUBLE, shape);
  }

  /** Worst relative error over every entry of every variable of {@code sd}, for the scalar {@code loss}. */
  private static double worstError(SameDiff sd, String loss, Map<String, INDArray> feed) {
    sd.setLossVariables(loss);
    GptGraph.createGradientsQuietly(sd);
    List<String> variables = new ArrayList<>();
    for (SDVariable v : sd.variables()) {
      if (v.getVariableType() == VariableType.VARIABLE) {
        variables.add(v.name());
      }
    }
    Map<String, INDArray> gradients = sd.calculateGradients(feed, variables);
    double worst = 0;
    for (String name : variables) {
      INDArray value = sd.getVariable(name).getArr();
      for (long i = 0; i < value.length(); i++) {
        double original = value.getDouble(i);
        value.putScalar(i, original + EPS);
        double plus = sd.output(feed, loss).get(loss).getDouble(0);
        value.putScalar(i, original - EPS);
        double minus = sd.output(feed, loss).get(loss).getDouble(0);
        value.putScalar(i, original);
        double numeric = (plus - minus) / (2 * EPS);
        double exact = gradients.get(name).getDouble(i);
        worst = Math.max(worst, Math.abs(exact - numeric) / Math.max(Math.abs(exact) + Math.abs(numeric), 1e-4));
      }
    }
    return worst;
  }

  /** Builds loss = Σ f(x) ⊙ R over a variable x of {@code shape} and returns the worst gradient error. */
  private static double checkUnary(long[] shape, Function<SDVariable, SDVariable> f) {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", random(1, shape));
    SDVariable y = f.apply(x);
    y.mul(sd.constant(random(2, y.eval().shape()))).sum().rename("loss");
    return worstError(sd, "loss", Map.of());
  }

  @Test
  void elementwiseAndReductionOpsPass() {
    assertTrue(checkUnary(new long[] {3, 4}, x -> x.mul(x).add(x)) < 1e-5, "variable used twice");
    assertTrue(checkUnary(new long[] {3, 4}, x -> x.sub(x.mean(true, 1))) < 1e-5, "mean");
    assertTrue(checkUnary(new long[] {3, 4}, x -> x.sum(true, 1).add(x.max(true, 1))) < 1e-5, "sum, max");
    assertTrue(checkUnary(new long[] {3, 4}, x -> x.getSameDiff().math.tanh(x)) < 1e-5, "tanh");
    assertTrue(checkUnary(new long[] {3, 4}, x -> x.getSameDiff().math.cube(x)) < 1e-5, "cube");
    assertTrue(checkUnary(new long[] {3, 4}, x -> x.getSameDiff().math.exp(x)) < 1e-5, "exp");
    assertTrue(checkUnary(new long[] {3, 4}, x -> x.getSameDiff().math.log(x.mul(x).add(1))) < 1e-5, "log");
    assertTrue(checkUnary(new long[] {3, 4}, x -> x.getSameDiff().math.rsqrt(x.mul(x).add(0.5))) < 1e-5, "rsqrt");
    assertTrue(checkUnary(new long[] {2, 3, 4}, x -> x.getSameDiff().nn.softmax(x, -1)) < 1e-5, "softmax");
  }

  @Test
  void shapeAndMatmulOpsPass() {
    assertTrue(checkUnary(new long[] {2, 6}, x -> x.reshape(2, 3, 2).permute(0, 2, 1)) < 1e-5, "reshape, permute");
    assertTrue(checkUnary(new long[] {5, 4}, x -> x.getSameDiff().slice(x, new int[] {1, 0}, 3, 4)) < 1e-5, "slice");
    SameDiff sd = SameDiff.create();
    SDVariable a = sd.var("a", random(3, 2, 2, 3, 4));
    SDVariable b = sd.var("b", random(4, 2, 2, 3, 4));
    SDVariable w = sd.var("w", random(5, 4, 5));
    SDVariable bias = sd.var("bias", random(6, 5));
    SDVariable scores = sd.mmul(a, b, false, true, false);                             // batched, transposed
    SDVariable projected = a.reshape(12, 4).mmul(w).add(bias);                          // 2-D with broadcast bias
    scores.mul(sd.constant(random(7, 2, 2, 3, 3))).sum().add(projected.mul(projected).sum()).rename("loss");
    assertTrue(worstError(sd, "loss", Map.of()) < 1e-5);
  }

  @Test
  void oneHotMatmulEmbeddingWithTiedTransposeUsePasses() {
    // the graph's token embedding and tied LM head: one matrix used twice
    SameDiff sd = SameDiff.create();
    SDVariable e = sd.var("e", random(8, 5, 4));
    SDVariable h = sd.var("h", random(9, 3, 4));
    SDVariable ids = sd.placeHolder("ids", DataType.INT32, 3);
    SDVariable embedded = sd.oneHot(ids, 5, -1, 1.0, 0.0, DataType.DOUBLE).mmul(e);
    SDVariable logits = sd.mmul(h.add(embedded), e, false, true, false);
    logits.mul(sd.constant(random(10, 3, 5))).sum().rename("loss");
    assertTrue(worstError(sd, "loss", Map.of("ids", Nd4j.createFromArray(1, 3, 1))) < 1e-5);
  }

  @Test
  void crossEntropyFromPartsPassesWithAnUpstreamScale() {
    SameDiff sd = SameDiff.create();
    SDVariable logits = sd.var("logits", random(11, 4, 6));
    SDVariable oneHot = sd.placeHolder("onehot", DataType.DOUBLE, 4, 6);
    SDVariable weights = sd.placeHolder("weights", DataType.DOUBLE, 4, 1);
    GraphLayers.crossEntropy(sd, logits, oneHot, weights).mul(3.0).rename("loss");
    INDArray targets = Nd4j.zeros(DataType.DOUBLE, 4, 6);
    targets.putScalar(0, 2, 1);
    targets.putScalar(1, 5, 1);
    targets.putScalar(3, 0, 1); // row 2 ignored: zero one-hot and zero weight
    INDArray w = Nd4j.createFromArray(new double[][] {{1}, {0.5}, {0}, {2}});
    assertTrue(worstError(sd, "loss", Map.of("onehot", targets, "weights", w)) < 1e-5);
  }

  @Test
  void gatherGradientIsWrong() {
    // why Embeddings does its own gather/scatter-add and GptGraph uses a one-hot matmul
    SameDiff sd = SameDiff.create();
    SDVariable e = sd.var("e", random(12, 5, 4));
    SDVariable ids = sd.placeHolder("ids", DataType.INT32, 2, 3);
    sd.gather(e, ids, 0).mul(sd.constant(random(13, 2, 3, 4))).sum().rename("loss");
    assertTrue(worstError(sd, "loss", Map.of("ids", Nd4j.createFromArray(new int[][] {{1, 3, 1}, {0, 0, 4}}))) > 0.1,
        "2-D indices: gradient wrong");
    SameDiff flat = SameDiff.create();
    SDVariable f = flat.var("e", random(12, 5, 4));
    SDVariable flatIds = flat.placeHolder("ids", DataType.INT32, 3);
    flat.gather(f, flatIds, 0).mul(flat.constant(random(13, 3, 4))).sum().rename("loss");
    RuntimeException failure = assertThrows(RuntimeException.class,
        () -> worstError(flat, "loss", Map.of("ids", Nd4j.createFromArray(1, 3, 1))));
    assertTrue(String.valueOf(failure.getMessage()).contains("assign"), "1-D indices: backward fails: " + failure);
  }

  @Test
  void lossOpIgnoresUpstreamGradient() {
    // sd.loss.softmaxCrossEntropy · 3 gets the gradient of the unscaled loss: why the graph builds CE from parts
    SameDiff sd = SameDiff.create();
    SDVariable logits = sd.var("logits", random(14, 4, 6));
    SDVariable labels = sd.placeHolder("labels", DataType.DOUBLE, 4, 6);
    SDVariable loss = sd.loss.softmaxCrossEntropy("ce", labels, logits, null);
    loss.mul(3.0).rename("loss");
    INDArray oneHot = Nd4j.zeros(DataType.DOUBLE, 4, 6);
    for (int i = 0; i < 4; i++) {
      oneHot.putScalar(i, i, 1);
    }
    sd.setLossVariables("loss");
    GptGraph.createGradientsQuietly(sd);
    INDArray scaled = sd.calculateGradients(Map.of("labels", oneHot), "logits").get("logits").dup();
    double original = scaled.getDouble(0);
    logits.getArr().putScalar(0, logits.getArr().getDouble(0) + EPS);
    double plus = sd.output(Map.of("labels", oneHot), "loss").get("loss").getDouble(0);
    logits.getArr().putScalar(0, logits.getArr().getDouble(0) - 2 * EPS);
    double minus = sd.output(Map.of("labels", oneHot), "loss").get("loss").getDouble(0);
    double numeric = (plus - minus) / (2 * EPS);
    assertEquals(1.0 / 3, original / numeric, 1e-6, "analytic gradient is a third of the true one");
    assertTrue(worstError(sd, "ce", Map.of("labels", oneHot)) < 1e-5, "alone (unit upstream) it is right");
  }

  @Test
  void preciseGeluIsNotTheTanhApproximation() {
    double x = -2.0;
    double tanhApproximation = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    SameDiff sd = SameDiff.create();
    SDVariable v = sd.var("x", Nd4j.createFromArray(new double[] {x}));
    double precise = sd.nn.preciseGelu(v).eval().getDouble(0);
    double plain = sd.nn.gelu(v).eval().getDouble(0);
    assertTrue(Math.abs(precise - tanhApproximation) > 1e-3, "preciseGelu(-2) = " + precise);
    assertEquals(x / (1 + Math.exp(1.702 * -x)), plain, 1e-6, "gelu is x·σ(1.702x), the sigmoid approximation");
    assertTrue(checkUnary(new long[] {3, 4}, y -> y.getSameDiff().nn.preciseGelu(y)) > 1e-5, "and its gradient");
  }

  @Test
  void logSoftmaxAndLogSumExpCannotBeDifferentiated() {
    RuntimeException e = assertThrows(RuntimeException.class, () -> checkUnary(new long[] {2, 3},
        x -> x.getSameDiff().nn.logSoftmax(x, -1)));
    assertTrue(String.valueOf(e.getMessage()).contains("LogSoftMax"), e.toString());
    e = assertThrows(RuntimeException.class, () -> checkUnary(new long[] {2, 3},
        x -> x.getSameDiff().math.logSumExp(x, 1)));
    assertTrue(String.valueOf(e.getMessage()).contains("reduce_sum_bp"), e.toString());
  }

  @Test
  void layerNormOpHasNoEpsilon() {
    // sd.nn.layerNorm has no epsilon argument; GPT-2 needs 1e-5, so the graph builds LayerNorm from parts
    SameDiff sd = SameDiff.create();
    INDArray x = Nd4j.createFromArray(new double[][] {{1, 1.001, 0.999, 1}});
    SDVariable v = sd.var("x", x);
    SDVariable ones = sd.constant(Nd4j.ones(DataType.DOUBLE, 4));
    SDVariable zeros = sd.constant(Nd4j.zeros(DataType.DOUBLE, 4));
    double op = sd.nn.layerNorm(v, ones, zeros, false, 1).eval().getDouble(0, 1);
    double parts = GraphLayers.layerNorm(sdWith(sd), v, "scale", "shift").eval().getDouble(0, 1);
    double expected = 0.001 / Math.sqrt(0.0000005 + 1e-5);
    assertEquals(expected, parts, 1e-9);
    assertTrue(Math.abs(op - expected) > 0.1, "op ignores a 1e-5 epsilon: " + op);
  }

  private static SameDiff sdWith(SameDiff sd) {
    sd.var("scale", Nd4j.ones(DataType.DOUBLE, 4));
    sd.var("shift", Nd4j.zeros(DataType.DOUBLE, 4));
    return sd;
  }
}
