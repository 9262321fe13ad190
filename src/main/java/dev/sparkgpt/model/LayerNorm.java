package dev.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastSubOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * LayerNorm over the channels of each token, y = (x - mean) / √(var + 1e-5) · scale + shift (biased variance, as
 * GPT-2 and the book). Forward keeps x̂ and 1/σ for the backward pass.
 */
final class LayerNorm {
  static final double EPS = 1e-5;

  private final String scaleName;
  private final String shiftName;
  private final BufferPool pool;
  private final String key;
  private INDArray normalized; // [N, C] x̂ of the last forward
  private INDArray inverseStd; // [N]    1 / √(var + eps)

  /** {@code scaleName}/{@code shiftName}: parameter names, e.g. {@link ParamNames#FINAL_NORM_SCALE}. */
  LayerNorm(String scaleName, String shiftName, BufferPool pool) {
    this.scaleName = scaleName;
    this.shiftName = shiftName;
    this.pool = pool;
    this.key = scaleName + ".";
  }

  /** [N, C] -> [N, C] (a buffer of this layer, valid until its next forward). */
  INDArray forward(GptParameters params, INDArray x) {
    long n = x.size(0);
    long c = x.size(1);
    INDArray mean = Reductions.rowMeans(x, "scratch.norm.mean", pool);                   // [N, 1]
    normalized = pool.get(key + "normalized", x.dataType(), n, c);
    Nd4j.exec(new BroadcastSubOp(x, mean.reshape(n), normalized, 0));                  // x - mean
    INDArray squares = normalized.mul(normalized, pool.get("scratch.norm.product", x.dataType(), n, c));
    INDArray variance = Reductions.rowMeans(squares, "scratch.norm.variance", pool);     // [N, 1] biased
    inverseStd = Transforms.pow(variance.reshape(n).add(EPS), -0.5, false);             // [N]
    normalized.muliColumnVector(inverseStd);                                             // x̂
    INDArray y = pool.get(key + "out", x.dataType(), n, c);
    Nd4j.exec(new BroadcastMulOp(normalized, params.get(scaleName), y, 1));
    return y.addiRowVector(params.get(shiftName));
  }

  /**
   * dy [N, C] -> dx [N, C] (a buffer of this layer); adds the scale and shift gradients into {@code grads}.
   * dx = (dx̂ - mean(dx̂) - x̂ · mean(dx̂ · x̂)) / σ with dx̂ = dy · scale.
   */
  INDArray backward(GptParameters params, GptParameters grads, INDArray dy) {
    long n = dy.size(0);
    long c = dy.size(1);
    INDArray product = pool.get("scratch.norm.product", dy.dataType(), n, c);
    Reductions.addColumnSums(dy, grads.get(shiftName), pool);
    Reductions.addColumnSums(dy.mul(normalized, product), grads.get(scaleName), pool);
    INDArray dx = pool.get(key + "dx", dy.dataType(), n, c);
    Nd4j.exec(new BroadcastMulOp(dy, params.get(scaleName), dx, 1));                    // dx̂
    INDArray meanD = Reductions.rowMeans(dx, "scratch.norm.mean", pool).reshape(n);     // [N]
    INDArray meanDx = Reductions.rowMeans(dx.mul(normalized, product), "scratch.norm.variance", pool); // [N, 1]
    Nd4j.exec(new BroadcastMulOp(normalized, meanDx.reshape(n), product, 0));          // x̂ · mean(dx̂ · x̂)
    return dx.subiColumnVector(meanD).subi(product).muliColumnVector(inverseStd);
  }
}
