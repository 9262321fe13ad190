package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A layer applied to each token on its own, [N = B·T, C] -> [N, C], with an explicit backward pass: the
 * normalizations (LayerNorm, RMSNorm, DyT) and the feed-forward networks (GELU, SwiGLU). The factories pick the
 * implementation the {@link ModelConfig} names.
 */
interface TokenLayer {
  /** x [N, C] -> [N, C] (a buffer of this layer, valid until its next forward). */
  INDArray forward(GptParameters p, INDArray x);

  /**
   * One token in eval mode on float32 host memory: {@code in} [C] -> {@code out} [C] (no adapters, nothing kept for a
   * backward pass) — the decoder's single-token step ({@link KvDecoder}), the same function as {@link #forward}.
   * Weights must be float32 arrays {@link DirectBlas#takes} reads.
   */
  void forwardRow(GptParameters p, float[] in, float[] out);

  /**
   * dOut [N, C] -> dx [N, C] (a buffer of this layer); adds the parameter gradients into {@code g}, or computes none
   * when {@code g} is null (a frozen base: LoRA).
   */
  INDArray backward(GptParameters p, GptParameters g, INDArray dOut);

  /** The first (before attention) or second (before the feed-forward) norm of block {@code layer}. */
  static TokenLayer blockNorm(ModelConfig config, int layer, boolean first, BufferPool pool) {
    return norm(config, ParamNames.block(layer, first ? ParamNames.NORM1_SCALE : ParamNames.NORM2_SCALE),
        ParamNames.block(layer, first ? ParamNames.NORM1_SHIFT : ParamNames.NORM2_SHIFT),
        ParamNames.block(layer, first ? ParamNames.NORM1_ALPHA : ParamNames.NORM2_ALPHA), pool);
  }

  /** The norm after the last block. */
  static TokenLayer finalNorm(ModelConfig config, BufferPool pool) {
    return norm(config, ParamNames.FINAL_NORM_SCALE, ParamNames.FINAL_NORM_SHIFT, ParamNames.FINAL_NORM_ALPHA, pool);
  }

  private static TokenLayer norm(ModelConfig config, String scale, String shift, String alpha, BufferPool pool) {
    return switch (config.norm()) {
      case ModelConfig.RMSNORM -> new LayerNorm(scale, null, config.normEps(), pool);
      case ModelConfig.DYT -> new DynamicTanh(scale, shift, alpha, pool);
      default -> new LayerNorm(scale, shift, config.normEps(), pool);
    };
  }

  /** The feed-forward network of block {@code layer}. */
  static TokenLayer feedForward(ModelConfig config, int layer, BufferPool pool) {
    return feedForward(config, layer, pool, new Adapters(pool));
  }

  /** As {@link #feedForward(ModelConfig, int, BufferPool)}, consulting the model's adapter registry. */
  static TokenLayer feedForward(ModelConfig config, int layer, BufferPool pool, Adapters adapters) {
    return config.usesSwiGlu() ? new SwiGluFeedForward(layer, config.linearBias(), pool, adapters)
        : new FeedForward(layer, config.linearBias(), pool, adapters);
  }
}
