package dev.sparkgpt.bench;

import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

public final class GemmProbe {
  public static void main(String[] args) {
    Nd4j.getEnvironment().setMaxThreads(1);
    Nd4j.getEnvironment().setMaxMasterThreads(1);
    Nd4j.factory().blas().setMaxThreads(1);
    int[][] shapes = {{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}};
    int layers = 12;
    INDArray[] w = new INDArray[layers * 4];
    INDArray[] wt = new INDArray[layers * 4];
    for (int i = 0; i < w.length; i++) {
      int[] s = shapes[i % 4];
      w[i] = Nd4j.rand(DataType.FLOAT, s[0], s[1]);
      wt[i] = w[i].transpose().dup('c');
    }
    int block = args.length > 0 ? Integer.parseInt(args[0]) : 256;
    for (int rep = 0; rep < 3; rep++) {
      for (int m : new int[] {8, 40, 128, 512}) {
        INDArray x3 = Nd4j.rand(DataType.FLOAT, m, 3072);
        INDArray x7 = Nd4j.rand(DataType.FLOAT, m, 768);
        INDArray cb = Nd4j.createUninitialized(DataType.FLOAT, m, block);
        INDArray[] full = new INDArray[4]; for (int k = 0; k < 4; k++) full[k] = Nd4j.createUninitialized(DataType.FLOAT, m, shapes[k][1]);
        double plain = time(() -> { for (int i = 0; i < w.length; i++) { INDArray x = w[i].size(0) == 768 ? x7 : x3;
          Nd4j.gemm(x, w[i], full[i % 4], false, false, 1.0, 0.0);} });
        double trans = time(() -> { for (int i = 0; i < w.length; i++) { INDArray x = w[i].size(0) == 768 ? x7 : x3;
          Nd4j.gemm(x, wt[i], full[i % 4], false, true, 1.0, 0.0);} });
        double blocked = time(() -> { for (int i = 0; i < w.length; i++) { INDArray x = w[i].size(0) == 768 ? x7 : x3;
          long n = w[i].size(1);
          for (long j = 0; j < n; j += block) { long e = Math.min(n, j + block);
            Nd4j.gemm(x, w[i].get(NDArrayIndex.all(), NDArrayIndex.interval(j, e)), (e - j == block ? cb : Nd4j.createUninitialized(DataType.FLOAT, m, e - j)), false, false, 1.0, 0.0);} } });
        double blockedT = time(() -> { for (int i = 0; i < w.length; i++) { INDArray x = w[i].size(0) == 768 ? x7 : x3;
          long n = w[i].size(1);
          for (long j = 0; j < n; j += block) { long e = Math.min(n, j + block);
            Nd4j.gemm(x, wt[i].get(NDArrayIndex.interval(j, e), NDArrayIndex.all()), (e - j == block ? cb : Nd4j.createUninitialized(DataType.FLOAT, m, e - j)), false, true, 1.0, 0.0);} } });
        double gv = m != 1 ? 0 : time(() -> { for (int i = 0; i < w.length; i++) { INDArray x = w[i].size(0) == 768 ? x7 : x3;
          Nd4j.exec(new Mmul(w[i], x.reshape(x.length()), full[i % 4].reshape(w[i].size(1)), MMulTranspose.builder().transposeA(true).build()));} });
        double gvt = m != 1 ? 0 : time(() -> { for (int i = 0; i < w.length; i++) { INDArray x = w[i].size(0) == 768 ? x7 : x3;
          Nd4j.exec(new Mmul(wt[i], x.reshape(x.length()), full[i % 4].reshape(w[i].size(1)), MMulTranspose.builder().build()));} });
        INDArray x3t = x3.transpose().dup('c'); INDArray x7t = x7.transpose().dup('c');
        INDArray[] fullT = new INDArray[4]; for (int k = 0; k < 4; k++) fullT[k] = Nd4j.createUninitialized(DataType.FLOAT, shapes[k][1], m);
        double tA = time(() -> { for (int i = 0; i < w.length; i++) { INDArray x = w[i].size(0) == 768 ? x7t : x3t;
          Nd4j.gemm(w[i], x, fullT[i % 4], true, false, 1.0, 0.0);} });
        double tA2 = time(() -> { for (int i = 0; i < w.length; i++) { INDArray x = w[i].size(0) == 768 ? x7 : x3;
          Nd4j.gemm(w[i], x, fullT[i % 4], true, true, 1.0, 0.0); full[i % 4].assign(fullT[i % 4].transpose());} });
        System.out.printf("m=%d W^T x^T: %.1f ms, with x as transB %.1f ms%n", m, tA, tA2);
        if (m == 1) System.out.printf("gemv W %.1f ms, gemv W^T-stored %.1f ms%n", gv, gvt);
        System.out.printf("m=%d 12 layers: gemm %.1f ms, gemm W^T-stored %.1f, blocked(%d) %.1f, blocked W^T %.1f%n", m, plain, trans, block, blocked, blockedT);
      }
    }
  }

  static double time(Runnable r) {
    r.run();
    long s = System.nanoTime();
    for (int i = 0; i < 5; i++) r.run();
    return (System.nanoTime() - s) / 5e6;
  }
}
