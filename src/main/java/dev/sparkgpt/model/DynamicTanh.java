package dev.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Dynamic Tanh in place of a norm ("Transformers without Normalization", Zhu et al. 2025): y = scale · tanh(α · x) +
 * shift, with one learned scalar α per layer (initialized to {@link #INITIAL_ALPHA}) and no statistics over the
 * channels. Java loops over rows in double, like {@link LayerNorm}.
 */
final class DynamicTanh implements TokenLayer {
  /** The paper's default α₀ for a non-LLM-sized width. */
  static final double INITIAL_ALPHA = 0.5;

  private final String scaleName;
  private final String shiftName;
  private final String alphaName;
  private final BufferPool pool;
  private final String key;
  private INDArray input;   // [N, C] x of the last forward
  private INDArray tanh;    // [N, C] tanh(α x)

  DynamicTanh(String scaleName, String shiftName, String alphaName, BufferPool pool) {
    this.scaleName = scaleName;
    this.shiftName = shiftName;
    this.alphaName = alphaName;
    this.pool = pool;
    this.key = scaleName + ".";
  }

  @Override
  public INDArray forward(GptParameters params, INDArray x) {
    int n = (int) x.size(0);
    int c = (int) x.size(1);
    input = x;
    tanh = pool.get(key + "tanh", x.dataType(), n, c);
    INDArray y = pool.get(key + "out", x.dataType(), n, c);
    double[] scale = params.get(scaleName).toDoubleVector();
    double[] shift = params.get(shiftName).toDoubleVector();
    double alpha = params.get(alphaName).getDouble(0);
    RowBuffer in = new RowBuffer(x);
    RowBuffer t = new RowBuffer(tanh);
    RowBuffer out = new RowBuffer(y);
    double[] row = new double[c];
    for (int i = 0; i < n; i++) {
      in.read(i, row);
      for (int j = 0; j < c; j++) {
        row[j] = Math.tanh(alpha * row[j]);
      }
      t.write(i, row);
      for (int j = 0; j < c; j++) {
        row[j] = row[j] * scale[j] + shift[j];
      }
      out.write(i, row);
    }
    return y;
  }

  /** With t = tanh(α x) and dz = dy · scale · (1 - t²): dx = α dz, dα = Σ x dz, dscale = Σ dy t, dshift = Σ dy. */
  @Override
  public INDArray backward(GptParameters params, GptParameters grads, INDArray dy) {
    int n = (int) dy.size(0);
    int c = (int) dy.size(1);
    INDArray dx = pool.get(key + "dx", dy.dataType(), n, c);
    double[] scale = params.get(scaleName).toDoubleVector();
    double alpha = params.get(alphaName).getDouble(0);
    double[] dScale = new double[c];
    double[] dShift = new double[c];
    double dAlpha = 0;
    RowBuffer gradient = new RowBuffer(dy);
    RowBuffer in = new RowBuffer(input);
    RowBuffer t = new RowBuffer(tanh);
    RowBuffer out = new RowBuffer(dx);
    double[] d = new double[c];
    double[] x = new double[c];
    double[] h = new double[c];
    for (int i = 0; i < n; i++) {
      gradient.read(i, d);
      in.read(i, x);
      t.read(i, h);
      for (int j = 0; j < c; j++) {
        dShift[j] += d[j];
        dScale[j] += d[j] * h[j];
        double dz = d[j] * scale[j] * (1 - h[j] * h[j]);
        dAlpha += dz * x[j];
        d[j] = dz * alpha;
      }
      out.write(i, d);
    }
    LayerNorm.addInto(grads.get(scaleName), dScale);
    LayerNorm.addInto(grads.get(shiftName), dShift);
    LayerNorm.addInto(grads.get(alphaName), new double[] {dAlpha});
    return dx;
  }
}
