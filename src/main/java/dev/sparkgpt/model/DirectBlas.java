package dev.sparkgpt.model;

import static dev.sparkgpt.model.DirectBuffers.doublePointer;
import static dev.sparkgpt.model.DirectBuffers.floatPointer;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * BLAS gemm and gemv called directly through JavaCPP's OpenBLAS binding (the library nd4j-native itself calls). ND4J's
 * Mmul op around the same BLAS call cost more per product, growing with the weight's size (on a Zen 3 core, CPU time
 * for GPT-2 124M's twelve qkv projections: one row 8.1 against 5.7 ms; 8 rows 33.6 against 25.7; 40 rows 44.8 against
 * 37.2 — bench figures in docs/decisions.md). Used only on the CPU backend, where arrays live in host memory; on any
 * other backend, without the binding, with arrays this path does not take (views of views, f-order, strided, half
 * precision), or with {@code -Dsparkgpt.directBlas=false} (the bench baseline) the methods answer false and
 * {@link MatMul} runs ND4J's op.
 */
final class DirectBlas {
  private static final int ROW_MAJOR = 101;
  private static final int NO_TRANS = 111;
  private static final int TRANS = 112;
  static final boolean AVAILABLE = detect();
  private static final ThreadLocal<FloatPointer[]> SCRATCH = ThreadLocal.withInitial(() -> new FloatPointer[2]);

  private DirectBlas() {}

  /**
   * y = op(w) · x for a dense c-order matrix w [rows, cols] and dense vectors x, y of w's data type (float or double);
   * op(w) = wᵀ when {@code transpose}. False, with nothing computed, when this path cannot take the arrays.
   */
  static boolean gemv(INDArray w, boolean transpose, INDArray x, INDArray y) {
    DataType type = w.dataType();
    if (!AVAILABLE || w.rank() != 2 || !dense(w) || !dense(x) || !dense(y) || x.dataType() != type
        || y.dataType() != type || (type != DataType.FLOAT && type != DataType.DOUBLE)) {
      return false;
    }
    int rows = (int) w.size(0);
    int cols = (int) w.size(1);
    if (x.length() != (transpose ? rows : cols) || y.length() != (transpose ? cols : rows)) {
      return false;
    }
    int op = transpose ? TRANS : NO_TRANS;
    if (type == DataType.FLOAT) {
      openblas_nolapack.cblas_sgemv(ROW_MAJOR, op, rows, cols, 1f, floatPointer(w), cols, floatPointer(x), 1, 0f,
          floatPointer(y), 1);
    } else {
      openblas_nolapack.cblas_dgemv(ROW_MAJOR, op, rows, cols, 1.0, doublePointer(w), cols, doublePointer(x), 1, 0.0,
          doublePointer(y), 1);
    }
    return true;
  }

  /**
   * y = op(W) · x for float32 vectors on the heap, W the dense [rows, cols] c-order block that starts {@code offset}
   * elements after the first element of {@code base} (a float32 array in host memory: callers check {@link
   * #takes}); x is read from {@code x[xFrom]}, y written to {@code y[yFrom]}. Through two per-thread off-heap scratch
   * vectors, as BLAS needs all three operands in one kind of memory: the decoder's single-token step.
   */
  static void gemv(INDArray base, long offset, int rows, int cols, boolean transpose, float[] x, int xFrom, float[] y,
      int yFrom) {
    int in = transpose ? rows : cols;
    int out = transpose ? cols : rows;
    FloatPointer[] scratch = SCRATCH.get();
    if (scratch[0] == null || scratch[0].capacity() < in) {
      scratch[0] = new FloatPointer(Math.max(in, 4096L));
    }
    if (scratch[1] == null || scratch[1].capacity() < out) {
      scratch[1] = new FloatPointer(Math.max(out, 4096L));
    }
    scratch[0].position(0).put(x, xFrom, in);
    openblas_nolapack.cblas_sgemv(ROW_MAJOR, transpose ? TRANS : NO_TRANS, rows, cols, 1f,
        floatPointer(base).position(base.offset() + offset), cols, scratch[0].position(0), 1, 0f,
        scratch[1].position(0), 1);
    scratch[1].position(0).get(y, yFrom, out);
  }

  /** Whether {@link #gemv(INDArray, long, int, int, boolean, float[], int, float[], int)} can read this array. */
  static boolean takes(INDArray a) {
    return AVAILABLE && a.dataType() == DataType.FLOAT && dense(a);
  }

  /**
   * c = alpha · op(a) · op(b) + beta · c for dense c-order matrices of one data type (float or double); op = transpose
   * when the flag is set. False, with nothing computed, when this path cannot take the arrays.
   */
  static boolean gemm(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB, double alpha,
      double beta) {
    DataType type = c.dataType();
    if (!AVAILABLE || a.rank() != 2 || b.rank() != 2 || c.rank() != 2 || !dense(a) || !dense(b) || !dense(c)
        || a.dataType() != type || b.dataType() != type || (type != DataType.FLOAT && type != DataType.DOUBLE)) {
      return false;
    }
    long m = c.size(0);
    long n = c.size(1);
    long k = transposeA ? a.size(0) : a.size(1);
    if ((transposeA ? a.size(1) : a.size(0)) != m || (transposeB ? b.size(1) : b.size(0)) != k
        || (transposeB ? b.size(0) : b.size(1)) != n || m == 0 || n == 0 || k == 0) {
      return false;
    }
    int opA = transposeA ? TRANS : NO_TRANS;
    int opB = transposeB ? TRANS : NO_TRANS;
    int lda = (int) a.size(1);
    int ldb = (int) b.size(1);
    if (type == DataType.FLOAT) {
      openblas_nolapack.cblas_sgemm(ROW_MAJOR, opA, opB, (int) m, (int) n, (int) k, (float) alpha, floatPointer(a), lda,
          floatPointer(b), ldb, (float) beta, floatPointer(c), (int) n);
    } else {
      openblas_nolapack.cblas_dgemm(ROW_MAJOR, opA, opB, (int) m, (int) n, (int) k, alpha, doublePointer(a), lda,
          doublePointer(b), ldb, beta, doublePointer(c), (int) n);
    }
    return true;
  }

  /** c-order with unit element stride: the elements are one run of memory from the array's first element. */
  private static boolean dense(INDArray a) {
    if (a.data() == null || (a.ordering() != 'c' && a.rank() > 1)) { // ND4J M2.1 leaves data() null on views of views
      return false;
    }
    long expected = 1;
    for (int d = a.rank() - 1; d >= 0; d--) {
      if (a.size(d) != 1 && a.stride(d) != expected) {
        return false;
      }
      expected *= a.size(d);
    }
    return true;
  }

  /** On the CPU backend with the binding loadable, and the result of a direct call equal to the Mmul op's. */
  private static boolean detect() {
    if ("false".equals(System.getProperty("sparkgpt.directBlas"))) {
      return false;
    }
    try {
      if (!Nd4j.getEnvironment().isCPU()) {
        return false;
      }
      INDArray w = Nd4j.createFromArray(new float[][] {{1, 2, 3}, {4, 5, 6}});
      INDArray x = Nd4j.createFromArray(1f, 10f);
      INDArray y = Nd4j.createUninitialized(DataType.FLOAT, 3);
      openblas_nolapack.cblas_sgemv(ROW_MAJOR, TRANS, 2, 3, 1f, floatPointer(w), 3, floatPointer(x), 1, 0f,
          floatPointer(y), 1);
      return y.equals(Nd4j.createFromArray(41f, 52f, 63f));
    } catch (Throwable e) { // no binding, no native library, another backend: the Mmul path
      return false;
    }
  }
}
