package dev.sparkgpt.model;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * BLAS gemv called directly through JavaCPP's OpenBLAS binding (the library nd4j-native itself calls) for the one-row
 * products of decoding. ND4J's Mmul op around the same BLAS call cost 0.2–0.3 ms more per projection on a Zen 3 core
 * (op object, shape inference, argument checks): 8.1 against 5.7 ms for GPT-2 124M's twelve qkv projections, about 10
 * ms of a 60–90 ms decoding step (bench figures in docs/decisions.md). Used only on the CPU backend, where arrays live
 * in host memory; on any other backend, without the binding, or with {@code -Dsparkgpt.directBlas=false} (the bench
 * baseline) {@link #gemv} answers false and {@link MatMul} runs the Mmul op.
 */
final class DirectBlas {
  private static final int ROW_MAJOR = 101;
  private static final int NO_TRANS = 111;
  private static final int TRANS = 112;
  static final boolean AVAILABLE = detect();

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
      openblas_nolapack.cblas_sgemv(ROW_MAJOR, op, rows, cols, 1f, floats(w), cols, floats(x), 1, 0f, floats(y), 1);
    } else {
      openblas_nolapack.cblas_dgemv(ROW_MAJOR, op, rows, cols, 1.0, doubles(w), cols, doubles(x), 1, 0.0,
          doubles(y), 1);
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

  /** The address of the array's first element (a view starts {@code offset()} elements into its buffer). */
  private static FloatPointer floats(INDArray a) {
    return new FloatPointer(base(a)).position(a.offset());
  }

  private static DoublePointer doubles(INDArray a) {
    return new DoublePointer(base(a)).position(a.offset());
  }

  private static Pointer base(INDArray a) {
    return a.data().originalDataBuffer() == null ? a.data().addressPointer()
        : a.data().originalDataBuffer().addressPointer();
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
      openblas_nolapack.cblas_sgemv(ROW_MAJOR, TRANS, 2, 3, 1f, floats(w), 3, floats(x), 1, 0f, floats(y), 1);
      return y.equals(Nd4j.createFromArray(41f, 52f, 63f));
    } catch (Throwable e) { // no binding, no native library, another backend: the Mmul path
      return false;
    }
  }
}
