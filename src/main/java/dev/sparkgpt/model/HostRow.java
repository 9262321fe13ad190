package dev.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One token's linear projection on float32 host memory, for the decoder's single-token step: out = in · W (+ b) with
 * W stored [in, out] as every block weight is, through {@link DirectBlas}' gemv.
 */
final class HostRow {
  private HostRow() {}

  /** in [W rows] -> a new [W columns] array; {@code bias} may be null. */
  static float[] project(GptParameters p, String weight, String bias, float[] in) {
    INDArray w = p.get(weight);
    float[] out = new float[(int) w.size(1)];
    DirectBlas.gemv(w, 0, (int) w.size(0), out.length, true, in, 0, out, 0);
    if (bias != null) {
      float[] b = DirectBuffers.read(p.get(bias), 0, out.length);
      for (int j = 0; j < out.length; j++) {
        out[j] += b[j];
      }
    }
    return out;
  }
}
