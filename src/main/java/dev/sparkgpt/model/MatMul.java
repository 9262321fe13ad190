package dev.sparkgpt.model;

import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Matrix products through BLAS gemm into an output allocated here (c-order, uninitialized) or given by the caller.
 * {@code a.mmul(b)} and the allocating {@code Nd4j.gemm} overload ran at 15–38 GFLOP/s against 236 for gemm into a
 * preallocated output on the LM-head shape (shared/PERF-NOTES.md), so the model never uses them.
 */
final class MatMul {
  private static final boolean GEMV = !"false".equals(System.getProperty("sparkgpt.gemv"));
  /**
   * Up to this many rows a forward product is computed transposed (see {@link #into}); 0 turns that off. On by default
   * only with OpenBLAS's AVX-512 kernels, where it was measured faster.
   */
  static final int TRANSPOSED_ROWS = Integer.getInteger("sparkgpt.transposedRows", avx512Kernel() ? 128 : 0);
  private static final ThreadLocal<INDArray[]> SCRATCH = ThreadLocal.withInitial(() -> new INDArray[1]);
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
   *
   * <p>A few rows (a prefill, decoding without the cache, small eval batches) with b = W stored [in, out] are computed
   * as cᵀ = Wᵀ · aᵀ and copied back: OpenBLAS 0.3.19's sgemm is 1.3–1.9× faster in that orientation for few rows
   * (GPT-2 124M's 48 block projections, weights cold: 8 rows 149 → 82 ms, 40 rows 194 → 119, 128 rows 277 → 219,
   * copy back included; at 512 rows the copy makes it slower: 629 → 788). That was the SkylakeX (AVX-512) kernel on
   * Zen 5; with the Haswell kernel on a Zen 3 core the same trick is 1.7–3.8× slower (8 rows: 59 → 129 ms for the 12
   * qkv projections; 40 rows: 85 → 197), so it is on only when OPENBLAS_CORETYPE names an AVX-512 kernel.
   * {@code -Dsparkgpt.transposedRows=N} sets the row limit (0 = off) whatever the kernel.
   */
  static void into(INDArray a, INDArray b, INDArray c, boolean transposeB) {
    if (GEMV && a.rank() == 2 && a.rows() == 1 && b.ordering() == 'c' && c.ordering() == 'c' && c.elementWiseStride() == 1) {
      if (DirectBlas.gemv(b, !transposeB, a, c)) { // BLAS gemv without the op around it (CPU backend)
        return;
      }
      INDArray x = a.reshape(a.length());
      INDArray y = c.reshape(c.length());
      // a·b = (bᵀ a)ᵀ: gemv over b as stored (transposed unless op(b) already is bᵀ)
      Nd4j.exec(new Mmul(b, x, y, MMulTranspose.builder().transposeA(!transposeB).build()));
      return;
    }
    if (!transposeB && a.rank() == 2 && a.rows() <= TRANSPOSED_ROWS && c.ordering() == 'c'
        && c.elementWiseStride() == 1) {
      INDArray t = scratch(a.dataType(), c.length()).reshape(b.size(1), a.rows());          // cᵀ [out, rows]
      Nd4j.gemm(b, a, t, true, true, 1.0, 0.0);
      c.assign(t.transpose());
      return;
    }
    Nd4j.gemm(a, b, c, false, transposeB, 1.0, 0.0);
  }

  /** OPENBLAS_CORETYPE (bin/jvm-opts.sh sets it from the CPU flags) names one of OpenBLAS's AVX-512 kernels. */
  private static boolean avx512Kernel() {
    String core = System.getenv("OPENBLAS_CORETYPE");
    return core != null && java.util.Set.of("skylakex", "cooperlake", "sapphirerapids").contains(
        core.toLowerCase(java.util.Locale.ROOT));
  }

  /** A contiguous scratch array of at least {@code length} elements, kept per thread (fresh memory is slow). */
  private static INDArray scratch(DataType type, long length) {
    INDArray[] held = SCRATCH.get();
    if (held[0] == null || held[0].dataType() != type || held[0].length() < length) {
      held[0] = Nd4j.createUninitialized(type, Math.max(length, held[0] == null ? 0 : held[0].length()));
    }
    return held[0].length() == length ? held[0] : held[0].get(NDArrayIndex.interval(0, length));
  }

  /** c += op(a) · op(b); {@code c} may be a contiguous view (a gradient inside a flat vector). */
  static void accumulate(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB) {
    Nd4j.gemm(a, b, c, transposeA, transposeB, 1.0, 1.0);
  }
}
