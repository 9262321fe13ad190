package dev.sparkgpt.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The position-wise feed-forward network: C -> hidden (4C), GELU (tanh approximation, as GPT-2), 4C -> C. GELU is written
 * out from elementwise ops: ND4J's gelu is the sigmoid approximation and its preciseGelu is neither formula
 * (SameDiffOpChecksTest.preciseGeluIsNotTheTanhApproximation). It is computed as h · σ(2u) with
 * u = √(2/π)(h + 0.044715 h³), which is exactly 0.5 h (1 + tanh u) and takes fewer passes (ND4J's sigmoid is also
 * faster than its tanh: 5.7 against 10 ms on [512, 3072]). Low-rank adapters on both weights come from
 * {@link Adapters}; with gradients null (a frozen base) no weight gradient is computed.
 */
final class FeedForward implements TokenLayer {
  /** 2 · √(2/π): the argument of the sigmoid is this × (h + 0.044715 h³). */
  static final double TWICE_GELU_SCALE = 2 * Math.sqrt(2 / Math.PI);
  static final double GELU_CUBIC = 0.044715;

  private final int layer;
  private final boolean bias;
  private final BufferPool pool;
  private final Adapters adapters;
  private final String key;
  private INDArray input;      // [N, C]
  private INDArray hidden;     // [N, 4C] before GELU
  private INDArray gate;       // [N, 4C] σ(2u) = 0.5 (1 + tanh u)
  private INDArray activated;  // [N, 4C] after GELU

  /** GPT-2's network, with biases. */
  FeedForward(int layer, BufferPool pool) {
    this(layer, true, pool);
  }

  FeedForward(int layer, boolean bias, BufferPool pool) {
    this(layer, bias, pool, new Adapters(pool));
  }

  FeedForward(int layer, boolean bias, BufferPool pool, Adapters adapters) {
    this.layer = layer;
    this.bias = bias;
    this.pool = pool;
    this.adapters = adapters;
    this.key = ParamNames.block(layer, "ff.");
  }

  /** [N, C] -> [N, C] (a buffer of this layer). */
  @Override
  public INDArray forward(GptParameters p, INDArray x) {
    input = x;
    DataType type = x.dataType();
    long n = x.size(0);
    INDArray up = p.get(name(ParamNames.FF_UP_WEIGHT));
    long h = up.size(1);
    hidden = pool.get(key + "hidden", type, n, h);                                           // [N, 4C]
    MatMul.into(x, up, hidden, false);
    adapters.forward(name(ParamNames.FF_UP_WEIGHT), x, hidden);
    addBias(p, hidden, ParamNames.FF_UP_BIAS);
    gate = pool.get(key + "gate", type, n, h);                                               // σ(2u)
    hidden.mul(hidden, gate).muli(TWICE_GELU_SCALE * GELU_CUBIC).addi(TWICE_GELU_SCALE).muli(hidden);
    Nd4j.exec(new Sigmoid(gate, gate));
    activated = hidden.mul(gate, pool.get(key + "activated", type, n, h));                   // h · σ(2u)
    INDArray out = pool.get(key + "out", type, n, x.size(1));                                 // [N, C]
    MatMul.into(activated, p.get(name(ParamNames.FF_DOWN_WEIGHT)), out, false);
    adapters.forward(name(ParamNames.FF_DOWN_WEIGHT), activated, out);
    return addBias(p, out, ParamNames.FF_DOWN_BIAS);
  }

  @Override
  public void forwardRow(GptParameters p, float[] in, float[] out) {
    float[] hidden = HostRow.project(p, name(ParamNames.FF_UP_WEIGHT),
        bias ? name(ParamNames.FF_UP_BIAS) : null, in);
    for (int j = 0; j < hidden.length; j++) {                         // GELU(h) = h · σ(2u), as forward computes it
      double v = hidden[j];
      hidden[j] = (float) (v / (1 + Math.exp(-TWICE_GELU_SCALE * (v + GELU_CUBIC * v * v * v))));
    }
    float[] y = HostRow.project(p, name(ParamNames.FF_DOWN_WEIGHT),
        bias ? name(ParamNames.FF_DOWN_BIAS) : null, hidden);
    System.arraycopy(y, 0, out, 0, y.length);
  }

  /** dOut [N, C] -> dx [N, C] (a buffer of this layer); adds both layers' gradients into {@code g}. */
  @Override
  public INDArray backward(GptParameters p, GptParameters g, INDArray dOut) {
    DataType type = dOut.dataType();
    long n = dOut.size(0);
    long h = hidden.size(1);
    accumulate(g, activated, dOut, ParamNames.FF_DOWN_WEIGHT, ParamNames.FF_DOWN_BIAS);
    INDArray dHidden = pool.get("scratch.ff.d_hidden", type, n, h);                          // [N, 4C]
    MatMul.gemm(dOut, p.get(name(ParamNames.FF_DOWN_WEIGHT)), dHidden, false, true, 1.0, 0.0); // dGELU output
    adapters.backward(name(ParamNames.FF_DOWN_WEIGHT), dOut, dHidden);
    // GELU'(h) = s + h · s (1 - s) · 2u'(h), s = σ(2u), 2u'(h) = 2√(2/π) (1 + 3 · 0.044715 h²)
    INDArray slope = pool.get("scratch.ff.slope", type, n, h);
    INDArray term = pool.get("scratch.ff.term", type, n, h);
    hidden.mul(hidden, slope).muli(3 * GELU_CUBIC * TWICE_GELU_SCALE).addi(TWICE_GELU_SCALE).muli(hidden);
    slope.muli(gate).muli(gate.rsub(1.0, term)).addi(gate);
    dHidden.muli(slope);
    accumulate(g, input, dHidden, ParamNames.FF_UP_WEIGHT, ParamNames.FF_UP_BIAS);
    INDArray dx = pool.get(key + "dx", type, n, input.size(1));
    MatMul.gemm(dHidden, p.get(name(ParamNames.FF_UP_WEIGHT)), dx, false, true, 1.0, 0.0);
    adapters.backward(name(ParamNames.FF_UP_WEIGHT), dHidden, dx);
    return dx;
  }

  private INDArray addBias(GptParameters p, INDArray x, String suffix) {
    return bias ? x.addiRowVector(p.get(name(suffix))) : x;
  }

  private void accumulate(GptParameters g, INDArray x, INDArray d, String weight, String biasName) {
    Reductions.addLinearGradients(g, name(weight), bias ? name(biasName) : null, x, d, pool);
  }

  private String name(String suffix) {
    return ParamNames.block(layer, suffix);
  }
}
