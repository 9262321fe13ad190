package dev.sparkgpt.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Llama's feed-forward network: out = (silu(x · W_gate) ⊙ (x · W_up)) · W_down with silu(g) = g · σ(g), biases only
 * with linear_bias (Llama has none). Low-rank adapters on the three weights come from {@link Adapters}; with gradients
 * null (a frozen base) no weight gradient is computed.
 */
final class SwiGluFeedForward implements TokenLayer {
  private final int layer;
  private final boolean bias;
  private final BufferPool pool;
  private final Adapters adapters;
  private final String key;
  private INDArray input;      // [N, C]
  private INDArray gate;       // [N, H] x · W_gate
  private INDArray sigmoid;    // [N, H] σ(gate)
  private INDArray up;         // [N, H] x · W_up
  private INDArray activated;  // [N, H] silu(gate) ⊙ up

  SwiGluFeedForward(int layer, boolean bias, BufferPool pool) {
    this(layer, bias, pool, new Adapters(pool));
  }

  SwiGluFeedForward(int layer, boolean bias, BufferPool pool, Adapters adapters) {
    this.layer = layer;
    this.bias = bias;
    this.pool = pool;
    this.adapters = adapters;
    this.key = ParamNames.block(layer, "ff.");
  }

  @Override
  public INDArray forward(GptParameters p, INDArray x) {
    input = x;
    DataType type = x.dataType();
    long n = x.size(0);
    long h = p.get(name(ParamNames.FF_UP_WEIGHT)).size(1);
    gate = project(p, x, ParamNames.FF_GATE_WEIGHT, ParamNames.FF_GATE_BIAS, key + "gate", h);
    up = project(p, x, ParamNames.FF_UP_WEIGHT, ParamNames.FF_UP_BIAS, key + "up", h);
    sigmoid = pool.get(key + "sigmoid", type, n, h);
    Nd4j.exec(new Sigmoid(gate, sigmoid));
    activated = gate.mul(sigmoid, pool.get(key + "activated", type, n, h)).muli(up);
    return project(p, activated, ParamNames.FF_DOWN_WEIGHT, ParamNames.FF_DOWN_BIAS, key + "out", x.size(1));
  }

  @Override
  public void forwardRow(GptParameters p, float[] in, float[] out) {
    float[] gate = HostRow.project(p, name(ParamNames.FF_GATE_WEIGHT),
        bias ? name(ParamNames.FF_GATE_BIAS) : null, in);
    float[] up = HostRow.project(p, name(ParamNames.FF_UP_WEIGHT),
        bias ? name(ParamNames.FF_UP_BIAS) : null, in);
    for (int j = 0; j < gate.length; j++) {                                          // silu(gate) ⊙ up
      double g = gate[j];
      gate[j] = (float) (g / (1 + Math.exp(-g))) * up[j];
    }
    float[] y = HostRow.project(p, name(ParamNames.FF_DOWN_WEIGHT),
        bias ? name(ParamNames.FF_DOWN_BIAS) : null, gate);
    System.arraycopy(y, 0, out, 0, y.length);
  }

  /**
   * dA = dOut · W_downᵀ; d up = dA ⊙ silu(gate); d gate = dA ⊙ up ⊙ σ(gate)(1 + gate (1 - σ(gate)));
   * dx = d gate · W_gateᵀ + d up · W_upᵀ.
   */
  @Override
  public INDArray backward(GptParameters p, GptParameters g, INDArray dOut) {
    DataType type = dOut.dataType();
    long n = dOut.size(0);
    long h = gate.size(1);
    accumulate(g, activated, dOut, ParamNames.FF_DOWN_WEIGHT, ParamNames.FF_DOWN_BIAS);
    INDArray dActivated = pool.get("scratch.ff.d_activated", type, n, h);
    MatMul.gemm(dOut, p.get(name(ParamNames.FF_DOWN_WEIGHT)), dActivated, false, true, 1.0, 0.0);
    adapters.backward(name(ParamNames.FF_DOWN_WEIGHT), dOut, dActivated);
    INDArray dUp = gate.mul(sigmoid, pool.get("scratch.ff.d_up", type, n, h)).muli(dActivated);
    // σ(g)(1 + g(1 - σ(g))) = σ + g σ - g σ², built in place in the d_gate buffer
    INDArray dGate = sigmoid.rsub(1.0, pool.get("scratch.ff.d_gate", type, n, h)).muli(gate).addi(1.0)
        .muli(sigmoid).muli(up).muli(dActivated);
    accumulate(g, input, dGate, ParamNames.FF_GATE_WEIGHT, ParamNames.FF_GATE_BIAS);
    accumulate(g, input, dUp, ParamNames.FF_UP_WEIGHT, ParamNames.FF_UP_BIAS);
    INDArray dx = pool.get(key + "dx", type, n, input.size(1));
    MatMul.gemm(dGate, p.get(name(ParamNames.FF_GATE_WEIGHT)), dx, false, true, 1.0, 0.0);
    MatMul.gemm(dUp, p.get(name(ParamNames.FF_UP_WEIGHT)), dx, false, true, 1.0, 1.0);
    adapters.backward(name(ParamNames.FF_GATE_WEIGHT), dGate, dx);
    adapters.backward(name(ParamNames.FF_UP_WEIGHT), dUp, dx);
    return dx;
  }

  /** x · W (+ b) into the pooled buffer {@code buffer} [N, width]. */
  private INDArray project(GptParameters p, INDArray x, String weight, String biasName, String buffer, long width) {
    INDArray out = pool.get(buffer, x.dataType(), x.size(0), width);
    MatMul.into(x, p.get(name(weight)), out, false);
    adapters.forward(name(weight), x, out);
    return bias ? out.addiRowVector(p.get(name(biasName))) : out;
  }

  /** dW += xᵀ · d, db += Σ_rows d ({@link Reductions#addLinearGradients}). */
  private void accumulate(GptParameters g, INDArray x, INDArray d, String weight, String biasName) {
    Reductions.addLinearGradients(g, name(weight), bias ? name(biasName) : null, x, d, pool);
  }

  private String name(String suffix) {
    return ParamNames.block(layer, suffix);
  }
}
