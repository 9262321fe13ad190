package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The name and shape of every GPT parameter, in one place: the model, the SameDiff graph, the optimizer state,
 * checkpoints and the Hugging Face converter all use these names. Matrices are stored [in, out] (x · W), the
 * token embedding and a separate LM head [vocab_size, emb_dim]. Names follow the book's modules
 * (tok_emb, pos_emb, trf_blocks.N.att / ff / norm1 / norm2, final_norm, out_head).
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
  /** Separate LM head [V, C] (logits = h · Wᵀ), present only when tie_embeddings is false. */
  public static final String OUT_HEAD = "out_head.weight";

  /** Per-block suffixes, prefixed by {@link #block(int, String)}. */
  public static final String NORM1_SCALE = "norm1.scale";
  public static final String NORM1_SHIFT = "norm1.shift";
  /** Fused query/key/value projection [C, 3C]: columns [0, C) query, [C, 2C) key, [2C, 3C) value. */
  public static final String QKV_WEIGHT = "att.qkv.weight";
  /** Query/key/value bias [3C], present only when qkv_bias. */
  public static final String QKV_BIAS = "att.qkv.bias";
  public static final String ATTENTION_OUT_WEIGHT = "att.out_proj.weight";
  public static final String ATTENTION_OUT_BIAS = "att.out_proj.bias";
  public static final String NORM2_SCALE = "norm2.scale";
  public static final String NORM2_SHIFT = "norm2.shift";
  /** Feed-forward expansion [C, 4C] and its bias [4C]. */
  public static final String FF_UP_WEIGHT = "ff.fc.weight";
  public static final String FF_UP_BIAS = "ff.fc.bias";
  /** Feed-forward projection back [4C, C] and its bias [C]. */
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
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put(TOKEN_EMBEDDING, new long[] {config.vocabSize(), c});
    shapes.put(POSITION_EMBEDDING, new long[] {config.contextLength(), c});
    for (int i = 0; i < config.numLayers(); i++) {
      shapes.put(block(i, NORM1_SCALE), new long[] {c});
      shapes.put(block(i, NORM1_SHIFT), new long[] {c});
      shapes.put(block(i, QKV_WEIGHT), new long[] {c, 3 * c});
      if (config.qkvBias()) {
        shapes.put(block(i, QKV_BIAS), new long[] {3 * c});
      }
      shapes.put(block(i, ATTENTION_OUT_WEIGHT), new long[] {c, c});
      shapes.put(block(i, ATTENTION_OUT_BIAS), new long[] {c});
      shapes.put(block(i, NORM2_SCALE), new long[] {c});
      shapes.put(block(i, NORM2_SHIFT), new long[] {c});
      shapes.put(block(i, FF_UP_WEIGHT), new long[] {c, hidden});
      shapes.put(block(i, FF_UP_BIAS), new long[] {hidden});
      shapes.put(block(i, FF_DOWN_WEIGHT), new long[] {hidden, c});
      shapes.put(block(i, FF_DOWN_BIAS), new long[] {c});
    }
    shapes.put(FINAL_NORM_SCALE, new long[] {c});
    shapes.put(FINAL_NORM_SHIFT, new long[] {c});
    if (!config.tieEmbeddings()) {
      shapes.put(OUT_HEAD, new long[] {config.outputSize(), c});
    }
    return shapes;
  }
}
