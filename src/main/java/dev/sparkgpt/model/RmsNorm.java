package dev.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * RMSNorm (Llama): y = x / √(mean(x²) + ε) · scale, no centering and no shift. Java loops over rows with statistics
 * in double, like {@link LayerNorm}.
 */
final class RmsNorm implements TokenLayer {
  private final String scaleName;
  private final double eps;
  private final BufferPool pool;
  private final String key;
  private INDArray normalized; // [N, C] x̂ = x / rms of the last forward
  private double[] inverseRms; // [N]

  RmsNorm(String scaleName, double eps, BufferPool pool) {
    this.scaleName = scaleName;
    this.eps = eps;
    this.pool = pool;
    this.key = scaleName + ".";
  }

  @Override
  public INDArray forward(GptParameters params, INDArray x) {
    int n = (int) x.size(0);
    int c = (int) x.size(1);
    normalized = pool.get(key + "normalized", x.dataType(), n, c);
    INDArray y = pool.get(key + "out", x.dataType(), n, c);
    double[] scale = params.get(scaleName).toDoubleVector();
    RowBuffer in = new RowBuffer(x);
    RowBuffer xHat = new RowBuffer(normalized);
    RowBuffer out = new RowBuffer(y);
    double[] row = new double[c];
    inverseRms = new double[n];
    for (int i = 0; i < n; i++) {
      in.read(i, row);
      double squares = 0;
      for (int j = 0; j < c; j++) {
        squares += row[j] * row[j];
      }
      double inverse = 1 / Math.sqrt(squares / c + eps);
      inverseRms[i] = inverse;
      for (int j = 0; j < c; j++) {
        row[j] *= inverse;
      }
      xHat.write(i, row);
      for (int j = 0; j < c; j++) {
        row[j] *= scale[j];
      }
      out.write(i, row);
    }
    return y;
  }

  /** dx = (dx̂ - x̂ · mean(dx̂ · x̂)) / rms with dx̂ = dy · scale; dscale = Σ dy · x̂. */
  @Override
  public INDArray backward(GptParameters params, GptParameters grads, INDArray dy) {
    int n = (int) dy.size(0);
    int c = (int) dy.size(1);
    INDArray dx = pool.get(key + "dx", dy.dataType(), n, c);
    double[] scale = params.get(scaleName).toDoubleVector();
    double[] dScale = new double[c];
    RowBuffer gradient = new RowBuffer(dy);
    RowBuffer xHat = new RowBuffer(normalized);
    RowBuffer out = new RowBuffer(dx);
    double[] d = new double[c];
    double[] h = new double[c];
    for (int i = 0; i < n; i++) {
      gradient.read(i, d);
      xHat.read(i, h);
      double meanDx = 0;
      for (int j = 0; j < c; j++) {
        dScale[j] += d[j] * h[j];
        d[j] *= scale[j];
        meanDx += d[j] * h[j];
      }
      meanDx /= c;
      for (int j = 0; j < c; j++) {
        d[j] = (d[j] - h[j] * meanDx) * inverseRms[i];
      }
      out.write(i, d);
    }
    LayerNorm.addInto(grads.get(scaleName), dScale);
    return dx;
  }
}
