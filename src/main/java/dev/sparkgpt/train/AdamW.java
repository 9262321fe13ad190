package dev.sparkgpt.train;

import static dev.sparkgpt.model.DirectBuffers.doubles;
import static dev.sparkgpt.model.DirectBuffers.floats;

import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.ParamNames;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * AdamW (Loshchilov &amp; Hutter) as PyTorch computes it: p ← p·(1 - lr·wd) for decayed tensors, then
 * p ← p - lr · m̂ / (√v̂ + eps) with bias-corrected moments. Weight decay applies only to matrices that are
 * multiplied (rank 2, not an embedding table): no decay on biases, LayerNorm parameters or embeddings. The two
 * moments are {@link GptParameters} (one flat vector each, named views), so they can be checkpointed by name and
 * averaged across executors like the weights. One fused pass over each tensor in plain Java: ND4J's adam_updater
 * scales eps differently and a chain of ND4J ops makes 8+ passes over memory.
 */
public final class AdamW {
  /** Prefixes of the moment names in {@link #state()} (PyTorch's state keys). */
  public static final String FIRST_MOMENT = "exp_avg.";
  public static final String SECOND_MOMENT = "exp_avg_sq.";
  /** Scalar entry of {@link #state()}: optimizer steps taken. */
  public static final String STEP = "step";

  private static final int CHUNK = 1 << 13;

  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final GptParameters shapes;
  private GptParameters firstMoment;   // allocated on first use: a model that never steps (a parameter-averaging
  private GptParameters secondMoment;  // driver, an evaluation) holds no moments
  private long step;
  private java.util.Set<String> frozen = java.util.Set.of();

  /** Moments at zero, shaped like {@code parameters}. */
  public AdamW(GptParameters parameters, double beta1, double beta2, double eps, double weightDecay) {
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && weightDecay >= 0)) {
      throw new IllegalArgumentException("AdamW needs 0 ≤ beta1, beta2 < 1, eps > 0, weight_decay ≥ 0; got beta1="
          + beta1 + " beta2=" + beta2 + " eps=" + eps + " weight_decay=" + weightDecay);
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.shapes = parameters;
  }

  private void allocate() {
    if (firstMoment == null) {
      firstMoment = shapes.zerosLike();
      secondMoment = shapes.zerosLike();
    }
  }

  /** Parameters this optimizer leaves exactly as they are (no update, no weight decay): finetuning's frozen layers. */
  public void freeze(java.util.Set<String> names) {
    frozen = java.util.Set.copyOf(names);
  }

  public java.util.Set<String> frozen() {
    return frozen;
  }

  /** Whether weight decay applies to a parameter: rank-2 matrices that are multiplied, not embedding tables. */
  public static boolean isDecayed(String name, long[] shape) {
    return shape.length == 2 && !ParamNames.isEmbedding(name);
  }

  /**
   * One update of {@code parameters} from {@code gradients} multiplied by {@code gradientScale} (the clipping
   * factor; 1 = none) with learning rate {@code learningRate}.
   */
  public void step(GptParameters parameters, GptParameters gradients, double learningRate, double gradientScale) {
    step++;
    double correction1 = 1 - Math.pow(beta1, step);
    double correction2 = Math.sqrt(1 - Math.pow(beta2, step));
    double stepSize = learningRate / correction1;
    for (Map.Entry<String, INDArray> e : parameters.views().entrySet()) {
      if (frozen.contains(e.getKey())) {
        continue;
      }
      INDArray p = e.getValue();
      double decay = isDecayed(e.getKey(), p.shape()) ? 1 - learningRate * weightDecay : 1;
      String name = e.getKey();
      if (parameters.dataType() == DataType.FLOAT) {
        updateFloat(floats(p), floats(gradients.get(name)), floats(firstMoment().get(name)),
            floats(secondMoment().get(name)), (float) decay, (float) gradientScale, (float) stepSize,
            (float) correction2);
      } else {
        updateDouble(doubles(p), doubles(gradients.get(name)), doubles(firstMoment().get(name)),
            doubles(secondMoment().get(name)), decay, gradientScale, stepSize, correction2);
      }
    }
  }

  /**
   * Float32 update in chunks copied to heap arrays: the JIT vectorizes the arithmetic loop over float[] (not over
   * a direct FloatBuffer), and the bulk copies run at memcpy speed.
   */
  private void updateFloat(FloatBuffer p, FloatBuffer g, FloatBuffer m, FloatBuffer v, float decay, float scale,
      float stepSize, float correction2) {
    float b1 = (float) beta1;
    float b2 = (float) beta2;
    float e = (float) eps;
    float[] ps = new float[CHUNK];
    float[] gs = new float[CHUNK];
    float[] ms = new float[CHUNK];
    float[] vs = new float[CHUNK];
    for (int from = 0, length = p.capacity(); from < length; from += CHUNK) {
      int n = Math.min(CHUNK, length - from);
      p.get(from, ps, 0, n);
      g.get(from, gs, 0, n);
      m.get(from, ms, 0, n);
      v.get(from, vs, 0, n);
      for (int i = 0; i < n; i++) {
        float grad = gs[i] * scale;
        float mi = b1 * ms[i] + (1 - b1) * grad;
        float vi = b2 * vs[i] + (1 - b2) * grad * grad;
        ms[i] = mi;
        vs[i] = vi;
        ps[i] = ps[i] * decay - stepSize * mi / ((float) Math.sqrt(vi) / correction2 + e);
      }
      p.put(from, ps, 0, n);
      m.put(from, ms, 0, n);
      v.put(from, vs, 0, n);
    }
  }

  private void updateDouble(DoubleBuffer p, DoubleBuffer g, DoubleBuffer m, DoubleBuffer v, double decay,
      double scale, double stepSize, double correction2) {
    for (int i = 0, end = p.capacity(); i < end; i++) {
      double grad = g.get(i) * scale;
      double mi = beta1 * m.get(i) + (1 - beta1) * grad;
      double vi = beta2 * v.get(i) + (1 - beta2) * grad * grad;
      m.put(i, mi);
      v.put(i, vi);
      p.put(i, p.get(i) * decay - stepSize * mi / (Math.sqrt(vi) / correction2 + eps));
    }
  }

  /** Steps taken so far (the bias-correction t). */
  public long stepCount() {
    return step;
  }

  /** Live first moments (m), one flat vector with named views: average or checkpoint them like weights. */
  public GptParameters firstMoment() {
    allocate();
    return firstMoment;
  }

  /** Live second moments (v). */
  public GptParameters secondMoment() {
    allocate();
    return secondMoment;
  }

  /** Copies of the state: exp_avg.NAME, exp_avg_sq.NAME for every parameter, and step (a 1-element int64). */
  public Map<String, INDArray> state() {
    return state(true);
  }

  /** The state as views of the moments themselves (no copy: for writing them out while nothing steps). */
  public Map<String, INDArray> stateViews() {
    return state(false);
  }

  private Map<String, INDArray> state(boolean copy) {
    Map<String, INDArray> state = new LinkedHashMap<>();
    firstMoment().views().forEach((name, m) -> state.put(FIRST_MOMENT + name, copy ? m.dup() : m));
    secondMoment().views().forEach((name, v) -> state.put(SECOND_MOMENT + name, copy ? v.dup() : v));
    state.put(STEP, Nd4j.createFromArray(new long[] {step}));
    return state;
  }

  /** Restores {@link #state()}: every moment by name with its exact shape, and the step. */
  public void loadState(Map<String, INDArray> state) {
    for (String name : firstMoment().names()) {
      firstMoment.set(name, require(state, FIRST_MOMENT + name, firstMoment.get(name).shape()));
      secondMoment.set(name, require(state, SECOND_MOMENT + name, secondMoment.get(name).shape()));
    }
    INDArray steps = state.get(STEP);
    if (steps == null || steps.length() != 1) {
      throw new IllegalArgumentException("optimizer state has no '" + STEP + "' scalar");
    }
    step = steps.getLong(0);
    int expected = 2 * shapes.names().size() + 1;
    if (state.size() != expected) {
      throw new IllegalArgumentException("optimizer state has " + state.size() + " entries, this model needs "
          + expected + " (exp_avg.* and exp_avg_sq.* per parameter, and step)");
    }
  }

  private static INDArray require(Map<String, INDArray> state, String key, long[] shape) {
    INDArray value = state.get(key);
    if (value == null) {
      throw new IllegalArgumentException("optimizer state is missing '" + key + "' (shape " + Arrays.toString(shape)
          + ")");
    }
    return value;
  }
}
