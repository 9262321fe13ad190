package dev.sparkgpt.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Tanh;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The position-wise feed-forward network: C -> 4C, GELU (tanh approximation, as GPT-2), 4C -> C. GELU is written
 * out from elementwise ops: ND4J's gelu is the sigmoid approximation and its preciseGelu is neither formula
 * (SameDiffOpChecksTest.preciseGeluIsNotTheTanhApproximation).
 */
final class FeedForward {
  /** √(2/π). */
  static final double GELU_SCALE = Math.sqrt(2 / Math.PI);
  static final double GELU_CUBIC = 0.044715;

  private final int layer;
  private final BufferPool pool;
  private final String key;
  private INDArray input;      // [N, C]
  private INDArray hidden;     // [N, 4C] before GELU
  private INDArray tanh;       // [N, 4C] tanh(√(2/π)(h + 0.044715 h³))
  private INDArray activated;  // [N, 4C] after GELU

  FeedForward(int layer, BufferPool pool) {
    this.layer = layer;
    this.pool = pool;
    this.key = ParamNames.block(layer, "ff.");
  }

  /** [N, C] -> [N, C] (a buffer of this layer). */
  INDArray forward(GptParameters p, INDArray x) {
    input = x;
    DataType type = x.dataType();
    long n = x.size(0);
    INDArray up = p.get(name(ParamNames.FF_UP_WEIGHT));
    long h = up.size(1);
    hidden = pool.get(key + "hidden", type, n, h);                                           // [N, 4C]
    Nd4j.gemm(x, up, hidden, false, false, 1.0, 0.0);
    hidden.addiRowVector(p.get(name(ParamNames.FF_UP_BIAS)));
    tanh = pool.get(key + "tanh", type, n, h);
    hidden.mul(hidden, tanh).muli(GELU_CUBIC).addi(1.0).muli(hidden).muli(GELU_SCALE);
    Nd4j.exec(new Tanh(tanh, tanh));
    activated = pool.get(key + "activated", type, n, h);
    tanh.add(1.0, activated).muli(hidden).muli(0.5);                                         // 0.5 h (1 + tanh)
    INDArray out = pool.get(key + "out", type, n, x.size(1));                                 // [N, C]
    Nd4j.gemm(activated, p.get(name(ParamNames.FF_DOWN_WEIGHT)), out, false, false, 1.0, 0.0);
    return out.addiRowVector(p.get(name(ParamNames.FF_DOWN_BIAS)));
  }

  /** dOut [N, C] -> dx [N, C] (a buffer of this layer); adds both layers' gradients into {@code g}. */
  INDArray backward(GptParameters p, GptParameters g, INDArray dOut) {
    DataType type = dOut.dataType();
    long n = dOut.size(0);
    long h = hidden.size(1);
    MatMul.accumulate(activated, dOut, g.get(name(ParamNames.FF_DOWN_WEIGHT)), true, false);
    Reductions.addColumnSums(dOut, g.get(name(ParamNames.FF_DOWN_BIAS)), pool);
    INDArray dHidden = pool.get("scratch.ff.d_hidden", type, n, h);                          // [N, 4C]
    Nd4j.gemm(dOut, p.get(name(ParamNames.FF_DOWN_WEIGHT)), dHidden, false, true, 1.0, 0.0); // dGELU output
    // GELU'(h) = 0.5 (1 + t) + 0.5 h (1 - t²) √(2/π) (1 + 3 · 0.044715 h²)
    INDArray slope = pool.get("scratch.ff.slope", type, n, h);
    INDArray term = pool.get("scratch.ff.term", type, n, h);
    hidden.mul(hidden, slope).muli(3 * GELU_CUBIC).addi(1.0).muli(GELU_SCALE * 0.5).muli(hidden);
    slope.muli(tanh.mul(tanh, term).rsubi(1.0)).addi(tanh.mul(0.5, term)).addi(0.5);
    dHidden.muli(slope);
    MatMul.accumulate(input, dHidden, g.get(name(ParamNames.FF_UP_WEIGHT)), true, false);
    Reductions.addColumnSums(dHidden, g.get(name(ParamNames.FF_UP_BIAS)), pool);
    INDArray dx = pool.get(key + "dx", type, n, input.size(1));
    Nd4j.gemm(dHidden, p.get(name(ParamNames.FF_UP_WEIGHT)), dx, false, true, 1.0, 0.0);
    return dx;
  }

  private String name(String suffix) {
    return ParamNames.block(layer, suffix);
  }
}
