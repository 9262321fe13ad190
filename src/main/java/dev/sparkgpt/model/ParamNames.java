package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The name and shape of every GPT parameter, in one place: the model, the SameDiff graph, the optimizer state,
 * checkpoints and the Hugging Face converter all use these names. Matrices are stored [in, out] (x · W), the
 * token embedding and a separate LM head [vocab_size, emb_dim]. Names follow the book's modules
 * (tok_emb, pos_emb, trf_blocks.N.att / ff / norm1 / norm2, final_norm, out_head). Which tensors exist depends on
 * the architecture (ModelConfig): no pos_emb with RoPE, no norm shift with RMSNorm, a norm α with DyT, a feed-forward
 * gate with SwiGLU, no out_proj / feed-forward biases without linear_bias; the fused qkv is (n_heads + 2 ·
 * n_kv_groups) × head_dim wide.
 */
public final class ParamNames {
  /** Token embedding [V, C]; also the LM head when tie_embeddings. */
  public static final String TOKEN_EMBEDDING = "tok_emb.weight";
  /** Learned position embedding [context_length, C]. */
  public static final String POSITION_EMBEDDING = "pos_emb.weight";
  /** Final LayerNorm gain [C]. */
  public static final String FINAL_NORM_SCALE = "final_norm.scale";
  /** Final LayerNorm bias [C]. */
  public static final String FINAL_NORM_SHIFT = "final_norm.shift";
  /** Final DyT α [1] (norm dyt only). */
  public static final String FINAL_NORM_ALPHA = "final_norm.alpha";
  /** Separate LM head [V, C] (logits = h · Wᵀ), present only when tie_embeddings is false. */
  public static final String OUT_HEAD = "out_head.weight";

  /** Per-block suffixes, prefixed by {@link #block(int, String)}. */
  public static final String NORM1_SCALE = "norm1.scale";
  public static final String NORM1_SHIFT = "norm1.shift";
  public static final String NORM1_ALPHA = "norm1.alpha";
  /**
   * Fused query/key/value projection [C, (H + 2K)·D]: columns [0, H·D) query, then K·D key, then K·D value (K =
   * n_kv_groups; GPT-2: K = H, so [C, 3C]).
   */
  public static final String QKV_WEIGHT = "att.qkv.weight";
  /** Query/key/value bias [3C], present only when qkv_bias. */
  public static final String QKV_BIAS = "att.qkv.bias";
  public static final String ATTENTION_OUT_WEIGHT = "att.out_proj.weight";
  public static final String ATTENTION_OUT_BIAS = "att.out_proj.bias";
  public static final String NORM2_SCALE = "norm2.scale";
  public static final String NORM2_SHIFT = "norm2.shift";
  public static final String NORM2_ALPHA = "norm2.alpha";
  /** SwiGLU gate [C, hidden] (and bias [hidden] with linear_bias): silu(x · gate) ⊙ (x · fc). */
  public static final String FF_GATE_WEIGHT = "ff.gate.weight";
  public static final String FF_GATE_BIAS = "ff.gate.bias";
  /** Feed-forward expansion [C, hidden] and its bias [hidden] (SwiGLU: the "up" projection). */
  public static final String FF_UP_WEIGHT = "ff.fc.weight";
  public static final String FF_UP_BIAS = "ff.fc.bias";
  /** Feed-forward projection back [hidden, C] and its bias [C]. */
  public static final String FF_DOWN_WEIGHT = "ff.proj.weight";
  public static final String FF_DOWN_BIAS = "ff.proj.bias";

  private ParamNames() {}

  /** Name of a block parameter, e.g. {@code block(3, QKV_WEIGHT)} = "trf_blocks.3.att.qkv.weight". */
  public static String block(int layer, String suffix) {
    return "trf_blocks." + layer + "." + suffix;
  }

  /** Name of the matrix the LM head multiplies by: the token embedding when tied, else out_head. */
  public static String headWeight(ModelConfig config) {
    return config.tieEmbeddings() ? TOKEN_EMBEDDING : OUT_HEAD;
  }

  /** Whether a parameter is an embedding table (looked up by index, not multiplied). */
  public static boolean isEmbedding(String name) {
    return TOKEN_EMBEDDING.equals(name) || POSITION_EMBEDDING.equals(name);
  }

  /** Every parameter of {@code config} with its shape, in storage order (embeddings, blocks, final norm, head). */
  public static Map<String, long[]> shapes(ModelConfig config) {
    long c = config.embeddingDim();
    long hidden = config.hiddenDim();
    boolean bias = config.linearBias();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put(TOKEN_EMBEDDING, new long[] {config.vocabSize(), c});
    if (!config.usesRope()) {
      shapes.put(POSITION_EMBEDDING, new long[] {config.contextLength(), c});
    }
    for (int i = 0; i < config.numLayers(); i++) {
      putNorm(shapes, config, block(i, NORM1_SCALE), block(i, NORM1_SHIFT), block(i, NORM1_ALPHA));
      shapes.put(block(i, QKV_WEIGHT), new long[] {c, config.qkvWidth()});
      if (config.qkvBias()) {
        shapes.put(block(i, QKV_BIAS), new long[] {config.qkvWidth()});
      }
      shapes.put(block(i, ATTENTION_OUT_WEIGHT), new long[] {c, c});
      putIf(bias, shapes, block(i, ATTENTION_OUT_BIAS), c);
      putNorm(shapes, config, block(i, NORM2_SCALE), block(i, NORM2_SHIFT), block(i, NORM2_ALPHA));
      if (config.usesSwiGlu()) {
        shapes.put(block(i, FF_GATE_WEIGHT), new long[] {c, hidden});
        putIf(bias, shapes, block(i, FF_GATE_BIAS), hidden);
      }
      shapes.put(block(i, FF_UP_WEIGHT), new long[] {c, hidden});
      putIf(bias, shapes, block(i, FF_UP_BIAS), hidden);
      shapes.put(block(i, FF_DOWN_WEIGHT), new long[] {hidden, c});
      putIf(bias, shapes, block(i, FF_DOWN_BIAS), c);
    }
    putNorm(shapes, config, FINAL_NORM_SCALE, FINAL_NORM_SHIFT, FINAL_NORM_ALPHA);
    if (!config.tieEmbeddings()) {
      shapes.put(OUT_HEAD, new long[] {config.outputSize(), c});
    }
    return shapes;
  }

  /** A norm's tensors: scale [C]; shift [C] for LayerNorm and DyT; α [1] for DyT. */
  private static void putNorm(Map<String, long[]> shapes, ModelConfig config, String scale, String shift,
      String alpha) {
    long c = config.embeddingDim();
    shapes.put(scale, new long[] {c});
    putIf(!ModelConfig.RMSNORM.equals(config.norm()), shapes, shift, c);
    putIf(ModelConfig.DYT.equals(config.norm()), shapes, alpha, 1);
  }

  private static void putIf(boolean present, Map<String, long[]> shapes, String name, long length) {
    if (present) {
      shapes.put(name, new long[] {length});
    }
  }
}
