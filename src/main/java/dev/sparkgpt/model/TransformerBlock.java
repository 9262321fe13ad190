package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One pre-norm block: x + drop(attention(norm1(x))), then + drop(feedForward(norm2(·))); GPT-2's (LayerNorm, GELU)
 * or Llama's (RMSNorm, SwiGLU) layers as the config says.
 */
final class TransformerBlock {
  private final TokenLayer norm1;
  private final CausalSelfAttention attention;
  private final TokenLayer norm2;
  private final TokenLayer feedForward;
  private final BufferPool pool;
  private final String key;
  private INDArray attentionMask;   // [N, C] residual dropout masks of the last forward, or null
  private INDArray feedForwardMask;

  TransformerBlock(ModelConfig config, int layer, BufferPool pool) {
    this(config, layer, RotaryEmbedding.of(config), pool);
  }

  /** With the model's shared RoPE tables ({@code rope} null for learned positions). */
  TransformerBlock(ModelConfig config, int layer, RotaryEmbedding rope, BufferPool pool) {
    this(config, layer, rope, pool, new Adapters(pool));
  }

  /** With the model's adapter registry. */
  TransformerBlock(ModelConfig config, int layer, RotaryEmbedding rope, BufferPool pool, Adapters adapters) {
    norm1 = TokenLayer.blockNorm(config, layer, true, pool);
    attention = new CausalSelfAttention(config, layer, rope, pool, adapters);
    norm2 = TokenLayer.blockNorm(config, layer, false, pool);
    feedForward = TokenLayer.feedForward(config, layer, pool, adapters);
    this.pool = pool;
    this.key = ParamNames.block(layer, "");
  }

  /** [N = B·T, C] -> [N, C] (a buffer of this block); {@code masks} null in eval mode. */
  INDArray forward(GptParameters p, INDArray x, int batch, int time, DropoutMasks masks, int layer) {
    attentionMask = masks == null ? null : masks.attentionOutput()[layer];
    feedForwardMask = masks == null ? null : masks.feedForwardOutput()[layer];
    INDArray attended = attention.forward(p, norm1.forward(p, x), batch, time,
        masks == null ? null : masks.attention()[layer]);
    INDArray mid = attentionMask == null ? attended.addi(x) : attended.muli(attentionMask).addi(x);
    INDArray fed = feedForward.forward(p, norm2.forward(p, mid));
    return feedForwardMask == null ? fed.addi(mid) : fed.muli(feedForwardMask).addi(mid);
  }

  /** dOut [N, C] -> dx [N, C] (a buffer of this block's first norm); {@code g} null: frozen, no weight gradients. */
  INDArray backward(GptParameters p, GptParameters g, INDArray dOut) {
    INDArray dFed = feedForwardMask == null ? dOut
        : dOut.mul(feedForwardMask, pool.get(key + "d_branch", dOut.dataType(), dOut.shape()));
    INDArray dMid = norm2.backward(p, g, feedForward.backward(p, g, dFed)).addi(dOut);
    INDArray dAttended = attentionMask == null ? dMid
        : dMid.mul(attentionMask, pool.get(key + "d_branch", dOut.dataType(), dOut.shape()));
    return norm1.backward(p, g, attention.backward(p, g, dAttended)).addi(dMid);
  }
}
