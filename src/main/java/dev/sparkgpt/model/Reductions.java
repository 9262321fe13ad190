package dev.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Row and column sums of [N, K] matrices as products with a ones vector, through BLAS (ND4J's sum(0) over a
 * [512, 3072] float32 matrix took 7.6 ms against 1.1 ms for the gemm, and its var(1) 2.9 ms against 0.35 ms),
 * and a row softmax built on them.
 */
final class Reductions {
  private Reductions() {}

  /** target [K] (a contiguous view, e.g. a bias gradient) += Σ over the rows of x [N, K]. */
  static void addColumnSums(INDArray x, INDArray target, BufferPool pool) {
    INDArray ones = ones(pool, x, 1, x.size(0));
    Nd4j.gemm(ones, x, target.reshape(1, x.size(1)), false, false, 1.0, 1.0);
  }

  /**
   * A linear layer's parameter gradients from its input x [N, in] and output gradient d [N, out]: dW += xᵀ · d and,
   * unless {@code bias} is null, db += Σ_rows d; nothing when {@code g} is null (the base is frozen).
   */
  static void addLinearGradients(GptParameters g, String weight, String bias, INDArray x, INDArray d,
      BufferPool pool) {
    if (g == null) {
      return;
    }
    MatMul.accumulate(x, d, g.get(weight), true, false);
    if (bias != null) {
      addColumnSums(d, g.get(bias), pool);
    }
  }

  /** The mean of each row of x [N, K] as [N, 1] (a pooled buffer under {@code key}). */
  static INDArray rowMeans(INDArray x, String key, BufferPool pool) {
    return rowSums(x, key, pool, 1.0 / x.size(1));
  }

  /** {@code scale} × the sum of each row of x [N, K] as [N, 1] (a pooled buffer under {@code key}). */
  static INDArray rowSums(INDArray x, String key, BufferPool pool, double scale) {
    INDArray ones = ones(pool, x, x.size(1), 1);
    INDArray sums = pool.get(key, x.dataType(), x.size(0), 1);
    Nd4j.gemm(x, ones, sums, false, false, scale, 0.0);
    return sums;
  }

  /**
   * In-place softmax over the rows of x [R, K]: max, subtract, exp, row sums (gemm), divide. ND4J's softmax op took
   * 8.8 ms on [6144, 256] against 5.5 for these steps.
   */
  static void softmaxRows(INDArray x, String key, BufferPool pool) {
    long rows = x.size(0);
    x.subiColumnVector(x.max(1));
    Nd4j.exec(new Exp(x, x));
    x.diviColumnVector(rowSums(x, key, pool, 1.0).reshape(rows));
  }

  private static INDArray ones(BufferPool pool, INDArray like, long rows, long columns) {
    return pool.get("ones." + rows + "x" + columns, like.dataType(), rows, columns).assign(1);
  }
}
