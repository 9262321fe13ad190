package dev.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

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
  private INDArray input;      // [N, C]
  private INDArray hidden;     // [N, 4C] before GELU
  private INDArray tanh;       // [N, 4C] tanh(√(2/π)(h + 0.044715 h³))
  private INDArray activated;  // [N, 4C] after GELU

  FeedForward(int layer) {
    this.layer = layer;
  }

  /** [N, C] -> [N, C]. */
  INDArray forward(GptParameters p, INDArray x) {
    input = x;
    hidden = MatMul.product(x, p.get(name(ParamNames.FF_UP_WEIGHT)), false, false)        // [N, 4C]
        .addiRowVector(p.get(name(ParamNames.FF_UP_BIAS)));
    tanh = hidden.mul(hidden).muli(GELU_CUBIC).addi(1.0).muli(hidden).muli(GELU_SCALE);
    Transforms.tanh(tanh, false);
    activated = tanh.add(1.0).muli(hidden).muli(0.5);                                     // 0.5 h (1 + tanh)
    return MatMul.product(activated, p.get(name(ParamNames.FF_DOWN_WEIGHT)), false, false) // [N, C]
        .addiRowVector(p.get(name(ParamNames.FF_DOWN_BIAS)));
  }

  /** dOut [N, C] -> dx [N, C]; adds both layers' gradients into {@code g}. */
  INDArray backward(GptParameters p, GptParameters g, INDArray dOut) {
    MatMul.accumulate(activated, dOut, g.get(name(ParamNames.FF_DOWN_WEIGHT)), true, false);
    g.get(name(ParamNames.FF_DOWN_BIAS)).addi(dOut.sum(0));
    INDArray dActivated = MatMul.product(dOut, p.get(name(ParamNames.FF_DOWN_WEIGHT)), false, true); // [N, 4C]
    // GELU'(h) = 0.5 (1 + t) + 0.5 h (1 - t²) √(2/π) (1 + 3 · 0.044715 h²)
    INDArray slope = hidden.mul(hidden).muli(3 * GELU_CUBIC).addi(1.0).muli(GELU_SCALE * 0.5).muli(hidden);
    slope.muli(tanh.mul(tanh).rsubi(1.0)).addi(tanh.mul(0.5)).addi(0.5);
    INDArray dHidden = dActivated.muli(slope);                                              // [N, 4C]
    MatMul.accumulate(input, dHidden, g.get(name(ParamNames.FF_UP_WEIGHT)), true, false);
    g.get(name(ParamNames.FF_UP_BIAS)).addi(dHidden.sum(0));
    return MatMul.product(dHidden, p.get(name(ParamNames.FF_UP_WEIGHT)), false, true);       // [N, C]
  }

  private String name(String suffix) {
    return ParamNames.block(layer, suffix);
  }
}
