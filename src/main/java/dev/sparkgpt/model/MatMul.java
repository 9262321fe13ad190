package dev.sparkgpt.model;

import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix products through BLAS gemm into an output allocated here (c-order, uninitialized) or given by the caller.
 * {@code a.mmul(b)} and the allocating {@code Nd4j.gemm} overload ran at 15–38 GFLOP/s against 236 for gemm into a
 * preallocated output on the LM-head shape (shared/PERF-NOTES.md), so the model never uses them.
 */
final class MatMul {
  private static final boolean GEMV = !"false".equals(System.getProperty("sparkgpt.gemv"));
  private MatMul() {}

  /** op(a) · op(b) into a new [rows, columns] array; op = transpose when the flag is set. */
  static INDArray product(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
    long rows = transposeA ? a.size(1) : a.size(0);
    long columns = transposeB ? b.size(0) : b.size(1);
    INDArray c = Nd4j.createUninitialized(a.dataType(), rows, columns);
    Nd4j.gemm(a, b, c, transposeA, transposeB, 1.0, 0.0);
    return c;
  }

  /**
   * c = a · op(b) for a forward projection; {@code c} a contiguous buffer. One row of {@code a} (a decoding step) goes
   * through BLAS gemv instead of gemm: OpenBLAS 0.3.19's sgemm packs the whole weight matrix even for one row, so
   * gemv ran the GPT-2 LM head [50257 × 768] in 16–26 ms against 46–65 and a [768 × 2304] projection in 0.7–1.1 ms
   * against 2.5–4.4 (bench/GemvProbe numbers in docs/decisions.md).
   * {@code -Dsparkgpt.gemv=false} turns this off (bench baseline).
   */
  static void into(INDArray a, INDArray b, INDArray c, boolean transposeB) {
    if (GEMV && a.rank() == 2 && a.rows() == 1 && b.ordering() == 'c' && c.ordering() == 'c' && c.elementWiseStride() == 1) {
      INDArray x = a.reshape(a.length());
      INDArray y = c.reshape(c.length());
      // a·b = (bᵀ a)ᵀ: gemv over b as stored (transposed unless op(b) already is bᵀ)
      Nd4j.exec(new Mmul(b, x, y, MMulTranspose.builder().transposeA(!transposeB).build()));
      return;
    }
    Nd4j.gemm(a, b, c, false, transposeB, 1.0, 0.0);
  }

  /** c += op(a) · op(b); {@code c} may be a contiguous view (a gradient inside a flat vector). */
  static void accumulate(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB) {
    Nd4j.gemm(a, b, c, transposeA, transposeB, 1.0, 1.0);
  }
}
