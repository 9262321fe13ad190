package dev.sparkgpt.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Tanh;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Dynamic Tanh in place of a norm ("Transformers without Normalization", Zhu et al. 2025): y = scale · tanh(α · x) +
 * shift, with one learned scalar α per layer (initialized to {@link #INITIAL_ALPHA}) and no statistics over the
 * channels, so it is elementwise ND4J ops (tanh, row-vector scale and shift, column sums by gemm).
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
    input = x;
    DataType type = x.dataType();
    tanh = x.mul(params.get(alphaName).getDouble(0), pool.get(key + "tanh", type, x.shape()));
    Nd4j.exec(new Tanh(tanh, tanh));
    return pool.get(key + "out", type, x.shape()).assign(tanh).muliRowVector(params.get(scaleName))
        .addiRowVector(params.get(shiftName));
  }

  @Override
  public void forwardRow(GptParameters params, float[] in, float[] out) {
    int c = in.length;
    float alpha = params.get(alphaName).getFloat(0);
    float[] scale = DirectBuffers.read(params.get(scaleName), 0, c);
    float[] shift = DirectBuffers.read(params.get(shiftName), 0, c);
    for (int j = 0; j < c; j++) {
      out[j] = (float) (scale[j] * Math.tanh(alpha * in[j]) + shift[j]);
    }
  }

  /** With t = tanh(α x) and dz = dy · scale · (1 - t²): dx = α dz, dα = Σ x dz, dscale = Σ dy t, dshift = Σ dy. */
  @Override
  public INDArray backward(GptParameters params, GptParameters grads, INDArray dy) {
    DataType type = dy.dataType();
    INDArray dz = tanh.mul(tanh, pool.get(key + "dx", type, dy.shape())).rsubi(1.0).muli(dy)
        .muliRowVector(params.get(scaleName));                                                  // dy · scale · (1 - t²)
    if (grads != null) {                                                                        // null: frozen
      Reductions.addColumnSums(dy, grads.get(shiftName), pool);
      INDArray product = dy.mul(tanh, pool.get("scratch.dyt.product", type, dy.shape()));
      Reductions.addColumnSums(product, grads.get(scaleName), pool);
      INDArray dAlpha = grads.get(alphaName);
      dAlpha.putScalar(0, dAlpha.getDouble(0) + product.assign(dz).muli(input).sumNumber().doubleValue());
    }
    return dz.muli(params.get(alphaName).getDouble(0));
  }
}
