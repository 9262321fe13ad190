package dev.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix products through BLAS gemm into an output allocated here (c-order, uninitialized) or given by the caller.
 * {@code a.mmul(b)} and the allocating {@code Nd4j.gemm} overload ran at 15–38 GFLOP/s against 236 for gemm into a
 * preallocated output on the LM-head shape (shared/PERF-NOTES.md), so the model never uses them.
 */
final class MatMul {
  private MatMul() {}

  /** op(a) · op(b) into a new [rows, columns] array; op = transpose when the flag is set. */
  static INDArray product(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
    long rows = transposeA ? a.size(1) : a.size(0);
    long columns = transposeB ? b.size(0) : b.size(1);
    INDArray c = Nd4j.createUninitialized(a.dataType(), rows, columns);
    Nd4j.gemm(a, b, c, transposeA, transposeB, 1.0, 0.0);
    return c;
  }

  /** c += op(a) · op(b); {@code c} may be a contiguous view (a gradient inside a flat vector). */
  static void accumulate(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB) {
    Nd4j.gemm(a, b, c, transposeA, transposeB, 1.0, 1.0);
  }
}
