package dev.sparkgpt.model;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Pins ND4J (its own loops and BLAS) to one thread for this JVM's tests. Surefire sets OMP_NUM_THREADS=2, and on the
 * shared 2-core machine a tiny-model training step then took 500–1000 ms against 35–90 ms on one thread (OpenMP
 * barriers waiting for a descheduled thread, with other builds running); the tests' arrays are far too small to
 * gain from a second thread. ND4J's own thread settings alone left a tiny forward at 85–120 ms against 10–20 with
 * OpenMP's thread count set too.
 */
public final class OneThread {
  private static volatile boolean pinned;

  private OneThread() {}

  public static void pin() {
    if (!pinned) {
      Nd4j.getEnvironment().setMaxThreads(1);
      Nd4j.getEnvironment().setMaxMasterThreads(1);
      Nd4j.factory().blas().setMaxThreads(1);
      NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(1); // OpenMP regions outside the above
      pinned = true;
    }
  }
}
