package dev.sparkgpt.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * This machine's dense float32 matmul rate through ND4J (gemm into a preallocated output, all threads ND4J uses),
 * measured once per JVM: the denominator of MFU, so MFU compares our training with what the BLAS can do here.
 */
public final class PeakFlops {
  private static volatile double measured;

  private PeakFlops() {}

  /** FLOP/s of a 1024³ gemm, best of a few runs after a warm-up. */
  public static double get() {
    if (measured == 0) {
      synchronized (PeakFlops.class) {
        if (measured == 0) {
          measured = measure(1024, 4);
        }
      }
    }
    return measured;
  }

  static double measure(int n, int reps) {
    INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
    INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
    INDArray c = Nd4j.create(DataType.FLOAT, new long[] {n, n}, 'f');
    Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
    double best = Double.MAX_VALUE;
    for (int r = 0; r < reps; r++) {
      long t0 = System.nanoTime();
      Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
      best = Math.min(best, (System.nanoTime() - t0) / 1e9);
    }
    return 2.0 * n * n * n / best;
  }
}
