package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Central finite differences in float64 against analytic gradients. Each sampled entry θ_i is moved by ±1e-6, the
 * numeric gradient is (L(θ + ε) - L(θ - ε)) / 2ε, and |analytic - numeric| / max(|analytic| + |numeric|, 1e-4) must
 * be ≤ 1e-5 (below 1e-4 in magnitude that is an absolute error of 1e-9).
 */
final class GradientCheck {
  static final double EPS = 1e-6;
  static final double TOLERANCE = 1e-5;
  /**
   * Below this magnitude errors count as absolute (≤ TOLERANCE × FLOOR = 1e-8): a central difference of a loss of
   * order 10 carries roundoff of about 1e-16 × 10 × (ops) / EPS ≈ 1e-9 to 1e-8, so a gradient that is exactly zero
   * (a key bias under softmax) read 1.8e-9 numerically in one CI run, past the old 1e-4 floor's 1e-9.
   */
  private static final double FLOOR = 1e-3;

  private GradientCheck() {}

  /** A tiny float64 config: 11 tokens, context 6, width 8, 2 heads, 2 layers, dropout 0.1. */
  static ModelConfig tinyConfig(boolean qkvBias, boolean tied) {
    return new ModelConfig(11, 6, 8, 2, 2, 0.1, qkvBias, tied);
  }

  /**
   * A tiny float64 Llama-style config: 11 tokens, context 6, width 16, 4 query heads sharing 2 key/value heads, RoPE,
   * SwiGLU 12 wide, the given norm, dropout 0.1, untied head; {@code bias} puts biases on every projection.
   */
  static ModelConfig tinyLlama(String norm, boolean bias) {
    return new ModelConfig(11, 6, 16, 4, 2, 0.1, bias, false, 0, norm, 1e-5, ModelConfig.SWIGLU, 12,
        ModelConfig.ROPE, 10000.0, 2, bias);
  }

  /** Parameters with every entry N(0, std²) (LayerNorm gains and biases included), so no term hides at 0 or 1. */
  static GptParameters randomParameters(ModelConfig config, double std, long seed) {
    GptParameters p = GptParameters.zeros(config, DataType.DOUBLE);
    p.vector().assign(random(seed, std, p.size()));
    return p;
  }

  static INDArray random(long seed, double std, long... shape) {
    double[] values = new double[(int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)];
    new RandomStream(seed).fillGaussian(values, std);
    return Nd4j.createFromArray(values).reshape(shape);
  }

  /**
   * For every name in {@code values}: perturbs {@code samples} random entries of that (live) array, recomputes
   * {@code loss}, and compares with the same entry of {@code analytic}. Returns the worst relative error.
   */
  static double assertGradients(Map<String, INDArray> values, Map<String, INDArray> analytic, DoubleSupplier loss,
      int samples, long seed) {
    Random random = new Random(seed);
    double worst = 0;
    for (Map.Entry<String, INDArray> e : values.entrySet()) {
      INDArray value = e.getValue();
      INDArray gradient = analytic.get(e.getKey());
      assertTrue(gradient != null, "no analytic gradient for " + e.getKey());
      for (int s = 0; s < Math.min(samples, value.length()); s++) {
        long i = samples >= value.length() ? s : (long) (random.nextDouble() * value.length());
        double original = value.getDouble(i);
        value.putScalar(i, original + EPS);
        double plus = loss.getAsDouble();
        value.putScalar(i, original - EPS);
        double minus = loss.getAsDouble();
        value.putScalar(i, original);
        double numeric = (plus - minus) / (2 * EPS);
        double exact = gradient.getDouble(i);
        double error = Math.abs(exact - numeric) / Math.max(Math.abs(exact) + Math.abs(numeric), FLOOR);
        assertTrue(error <= TOLERANCE, e.getKey() + "[" + i + "]: analytic " + exact + " vs numeric " + numeric
            + " (relative error " + error + ")");
        worst = Math.max(worst, error);
      }
    }
    return worst;
  }
}
