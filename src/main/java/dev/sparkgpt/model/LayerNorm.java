package dev.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * LayerNorm over the channels of each token, y = (x - mean) / √(var + 1e-5) · scale + shift (biased variance, as
 * GPT-2 and the book). Forward keeps x̂ and 1/σ for the backward pass.
 */
final class LayerNorm {
  static final double EPS = 1e-5;

  private final String scaleName;
  private final String shiftName;
  private INDArray normalized; // [N, C] x̂ of the last forward
  private INDArray inverseStd; // [N]    1 / √(var + eps)

  /** {@code scaleName}/{@code shiftName}: parameter names, e.g. {@link ParamNames#FINAL_NORM_SCALE}. */
  LayerNorm(String scaleName, String shiftName) {
    this.scaleName = scaleName;
    this.shiftName = shiftName;
  }

  /** [N, C] -> [N, C]. */
  INDArray forward(GptParameters params, INDArray x) {
    INDArray mean = x.mean(1);                                  // [N]
    INDArray centered = x.subColumnVector(mean);                // [N, C]
    INDArray variance = centered.mul(centered).mean(1);         // [N]
    inverseStd = Transforms.pow(variance.addi(EPS), -0.5, false);
    normalized = centered.muliColumnVector(inverseStd);         // [N, C] x̂
    return normalized.mulRowVector(params.get(scaleName)).addiRowVector(params.get(shiftName));
  }

  /**
   * dy [N, C] -> dx [N, C]; adds the scale and shift gradients into {@code grads}.
   * dx = (dx̂ - mean(dx̂) - x̂ · mean(dx̂ · x̂)) / σ with dx̂ = dy · scale.
   */
  INDArray backward(GptParameters params, GptParameters grads, INDArray dy) {
    grads.get(shiftName).addi(dy.sum(0));
    grads.get(scaleName).addi(dy.mul(normalized).sum(0));
    INDArray dNormalized = dy.mulRowVector(params.get(scaleName));           // [N, C]
    INDArray meanD = dNormalized.mean(1);                                    // [N]
    INDArray meanDx = dNormalized.mul(normalized).mean(1);                   // [N]
    return dNormalized.subiColumnVector(meanD)
        .subi(normalized.mulColumnVector(meanDx))
        .muliColumnVector(inverseStd);
  }
}
