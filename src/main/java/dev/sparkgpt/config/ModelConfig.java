package dev.sparkgpt.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Sizes and architecture of a GPT-2- or Llama-style model (conf/model/*.yaml); no training knobs except dropout. Read
 * by the model, the checkpoint (its architecture is part of every checkpoint) and the Hugging Face converters. The
 * architecture keys after num_classes are optional and default to GPT-2 (so older YAMLs and checkpoints are
 * unchanged); Llama is norm rmsnorm, mlp swiglu, positional rope, no biases, an untied head (conf/model/llama-*.yaml).
 *
 * @param vocabSize token ids are in [0, vocab_size)
 * @param contextLength longest sequence: rows of the learned position embedding (with RoPE: of the KV cache)
 * @param embeddingDim model width C
 * @param numHeads attention heads; each is embedding_dim / n_heads wide
 * @param numLayers transformer blocks
 * @param dropRate dropout probability on embeddings, attention weights and residual branches (training only)
 * @param qkvBias whether the query/key/value projection has a bias (GPT-2's released weights do)
 * @param tieEmbeddings whether the LM head reuses the token embedding matrix (GPT-2 does)
 * @param numClasses 0 for a language model; else the output head has this many rows (a classifier, the book's
 *     chapter 6: loss and prediction on the last real token), and the head cannot be tied
 * @param norm {@value #LAYERNORM} (GPT-2), {@value #RMSNORM} (Llama: scale only) or {@value #DYT} (Dynamic Tanh,
 *     "Transformers without Normalization": γ·tanh(α·x)+β with a learned scalar α, initialized to 0.5)
 * @param normEps ε under the square root of LayerNorm and RMSNorm (1e-5, as GPT-2 and Llama 2 7B)
 * @param mlp {@value #GELU} (GPT-2: up, GELU, down) or {@value #SWIGLU} (Llama: down(silu(gate(x)) ⊙ up(x)))
 * @param hiddenDim feed-forward hidden width (default 4 × emb_dim; Llama 2 7B: 11008)
 * @param positional {@value #LEARNED} position embeddings (GPT-2) or {@value #ROPE} rotary embeddings on queries and
 *     keys (Hugging Face rotate_half convention: dimension i rotates with i + head_dim/2)
 * @param ropeTheta RoPE base θ: dimension pair i turns by position · θ^(-2i/head_dim) (10000; Llama 3: 500000)
 * @param numKvGroups key/value heads for grouped-query attention (default n_heads = plain multi-head attention);
 *     query head h uses key/value head h / (n_heads / n_kv_groups)
 * @param linearBias whether the attention output projection and the feed-forward layers have biases (GPT-2 does,
 *     Llama does not); the query/key/value bias is qkv_bias
 */
public record ModelConfig(
    @JsonProperty("vocab_size") int vocabSize,
    @JsonProperty("context_length") int contextLength,
    @JsonProperty("emb_dim") int embeddingDim,
    @JsonProperty("n_heads") int numHeads,
    @JsonProperty("n_layers") int numLayers,
    @JsonProperty("drop_rate") double dropRate,
    @JsonProperty("qkv_bias") boolean qkvBias,
    @JsonProperty("tie_embeddings") boolean tieEmbeddings,
    @JsonProperty("num_classes") Integer numClasses,
    @JsonProperty("norm") String norm,
    @JsonProperty("norm_eps") Double normEps,
    @JsonProperty("mlp") String mlp,
    @JsonProperty("hidden_dim") Integer hiddenDim,
    @JsonProperty("positional") String positional,
    @JsonProperty("rope_theta") Double ropeTheta,
    @JsonProperty("n_kv_groups") Integer numKvGroups,
    @JsonProperty("linear_bias") Boolean linearBias) implements java.io.Serializable {
  public static final String LAYERNORM = "layernorm";
  public static final String RMSNORM = "rmsnorm";
  public static final String DYT = "dyt";
  public static final String GELU = "gelu";
  public static final String SWIGLU = "swiglu";
  public static final String LEARNED = "learned";
  public static final String ROPE = "rope";

  /** A GPT-2 language model (num_classes 0). */
  public ModelConfig(int vocabSize, int contextLength, int embeddingDim, int numHeads, int numLayers,
      double dropRate, boolean qkvBias, boolean tieEmbeddings) {
    this(vocabSize, contextLength, embeddingDim, numHeads, numLayers, dropRate, qkvBias, tieEmbeddings, 0);
  }

  /** A GPT-2 model with {@code numClasses} outputs (0 = a language model). */
  public ModelConfig(int vocabSize, int contextLength, int embeddingDim, int numHeads, int numLayers,
      double dropRate, boolean qkvBias, boolean tieEmbeddings, Integer numClasses) {
    this(vocabSize, contextLength, embeddingDim, numHeads, numLayers, dropRate, qkvBias, tieEmbeddings, numClasses,
        null, null, null, null, null, null, null, null);
  }

  /**
   * A Llama-style language model: RMSNorm (ε 1e-5), SwiGLU of width {@code hiddenDim}, RoPE with base
   * {@code ropeTheta}, {@code kvGroups} key/value heads, no biases, untied head, no dropout.
   */
  public static ModelConfig llama(int vocabSize, int contextLength, int embeddingDim, int numHeads, int numLayers,
      int kvGroups, int hiddenDim, double ropeTheta) {
    return new ModelConfig(vocabSize, contextLength, embeddingDim, numHeads, numLayers, 0.0, false, false, 0,
        RMSNORM, 1e-5, SWIGLU, hiddenDim, ROPE, ropeTheta, kvGroups, false);
  }

  public ModelConfig {
    numClasses = numClasses == null ? 0 : numClasses; // absent from model YAMLs and older checkpoints: an LM
    norm = norm == null ? LAYERNORM : norm;            // the architecture keys default to GPT-2
    normEps = normEps == null ? 1e-5 : normEps;
    mlp = mlp == null ? GELU : mlp;
    hiddenDim = hiddenDim == null ? 4 * embeddingDim : hiddenDim;
    positional = positional == null ? LEARNED : positional;
    ropeTheta = ropeTheta == null ? 10000.0 : ropeTheta;
    numKvGroups = numKvGroups == null ? numHeads : numKvGroups;
    linearBias = linearBias == null ? Boolean.TRUE : linearBias;
    requirePositive("model.vocab_size", vocabSize);
    requirePositive("model.context_length", contextLength);
    requirePositive("model.emb_dim", embeddingDim);
    requirePositive("model.n_heads", numHeads);
    requirePositive("model.n_layers", numLayers);
    if (embeddingDim % numHeads != 0) {
      throw new ConfigException("model.n_heads", "n_heads=" + numHeads + " does not divide emb_dim=" + embeddingDim,
          "choose n_heads among the divisors of " + embeddingDim + ", or an emb_dim that is a multiple of "
              + numHeads);
    }
    if (numClasses < 0 || numClasses == 1) {
      throw new ConfigException("model.num_classes", "must be 0 (language model) or ≥ 2 classes, got " + numClasses,
          "set the number of labels, e.g. 2 for spam/ham");
    }
    if (numClasses > 0 && tieEmbeddings) {
      throw new ConfigException("model.tie_embeddings", "a classifier's head (num_classes=" + numClasses + ") cannot "
          + "share the token embedding", "set tie_embeddings: false");
    }
    if (!(dropRate >= 0 && dropRate < 1)) {
      throw new ConfigException("model.drop_rate", "must be in [0, 1), got " + dropRate,
          "use 0.0 (no dropout) to 0.1 (the book's value)");
    }
    requireOneOf("model.norm", norm, LAYERNORM, RMSNORM, DYT);
    requireOneOf("model.mlp", mlp, GELU, SWIGLU);
    requireOneOf("model.positional", positional, LEARNED, ROPE);
    if (!(normEps > 0 && normEps < 1)) {
      throw new ConfigException("model.norm_eps", "must be in (0, 1), got " + normEps, "use 1e-5 (GPT-2, Llama)");
    }
    requirePositive("model.hidden_dim", hiddenDim);
    requirePositive("model.n_kv_groups", numKvGroups);
    if (numHeads % numKvGroups != 0) {
      throw new ConfigException("model.n_kv_groups", "n_kv_groups=" + numKvGroups + " does not divide n_heads="
          + numHeads + " (each key/value head serves n_heads / n_kv_groups query heads)",
          "choose n_kv_groups among the divisors of " + numHeads + " (n_heads = plain multi-head attention)");
    }
    if (ROPE.equals(positional)) {
      if (embeddingDim / numHeads % 2 != 0) {
        throw new ConfigException("model.positional", "rope rotates pairs of dimensions, but the head width "
            + "emb_dim / n_heads = " + embeddingDim / numHeads + " is odd", "choose emb_dim and n_heads so that "
            + "emb_dim / n_heads is even, or positional: learned");
      }
      if (!(ropeTheta > 1)) {
        throw new ConfigException("model.rope_theta", "must be > 1, got " + ropeTheta,
            "use 10000 (Llama 2) or 500000 (Llama 3)");
      }
    }
  }

  private static void requireOneOf(String key, String value, String... allowed) {
    if (!java.util.Arrays.asList(allowed).contains(value)) {
      throw new ConfigException(key, "unknown value \"" + value + "\"", "use one of " + String.join(", ", allowed));
    }
  }

  private static void requirePositive(String key, int value) {
    if (value < 1) {
      throw new ConfigException(key, "must be a positive integer, got " + value, "set " + key + " ≥ 1");
    }
  }

  /** Rows of the output head: num_classes for a classifier, else vocab_size. */
  public int outputSize() {
    return numClasses > 0 ? numClasses : vocabSize;
  }

  /** The same model with a classification head of {@code classes} rows (untied), or an LM head for 0. */
  public ModelConfig withClasses(int classes) {
    return new ModelConfig(vocabSize, contextLength, embeddingDim, numHeads, numLayers, dropRate, qkvBias,
        classes > 0 ? false : tieEmbeddings, classes, norm, normEps, mlp, hiddenDim, positional, ropeTheta, numKvGroups,
        linearBias);
  }

  /** The same architecture with a different head: {@code tied} to the token embedding or not. */
  public ModelConfig withTiedEmbeddings(boolean tied) {
    return new ModelConfig(vocabSize, contextLength, embeddingDim, numHeads, numLayers, dropRate, qkvBias, tied,
        numClasses, norm, normEps, mlp, hiddenDim, positional, ropeTheta, numKvGroups, linearBias);
  }

  /** Whether positions enter through rotary embeddings (no position table). */
  public boolean usesRope() {
    return ROPE.equals(positional);
  }

  /** Whether the feed-forward network is SwiGLU (gate, up, down) rather than GELU (up, down). */
  public boolean usesSwiGlu() {
    return SWIGLU.equals(mlp);
  }

  /**
   * Whether this is GPT-2's architecture (LayerNorm, GELU 4 × emb_dim wide, learned positions, multi-head attention,
   * biases), which GPT-2's Hugging Face layout and the SameDiff reference graph can express.
   */
  public boolean hasGpt2Architecture() {
    return LAYERNORM.equals(norm) && GELU.equals(mlp) && LEARNED.equals(positional) && numKvGroups.equals(numHeads)
        && linearBias && hiddenDim == 4 * embeddingDim;
  }

  /** Width of the fused query/key/value projection: (n_heads + 2 · n_kv_groups) × head_dim. */
  public int qkvWidth() {
    return (numHeads + 2 * numKvGroups) * headDim();
  }

  /** Parameters of one normalization layer of width {@code c}: scale, plus shift (LayerNorm, DyT), plus α (DyT). */
  public long normParameterCount(long c) {
    return switch (norm) {
      case RMSNORM -> c;
      case DYT -> 2 * c + 1;
      default -> 2 * c;
    };
  }

  /** Width of one attention head: emb_dim / n_heads. */
  public int headDim() {
    return embeddingDim / numHeads;
  }

  /** Trainable parameters, counting a tied embedding/head matrix once. */
  public long parameterCount() {
    long c = embeddingDim;
    long qkv = qkvWidth();
    long h = hiddenDim;
    long bias = linearBias ? 1 : 0;
    long perBlock = normParameterCount(c)                  // norm1
        + c * qkv + (qkvBias ? qkv : 0)                    // query, key, value projection
        + c * c + bias * c                                 // attention output projection
        + normParameterCount(c)                            // norm2
        + (usesSwiGlu() ? 2 : 1) * (c * h + bias * h)      // feed-forward up (and gate)
        + h * c + bias * c;                                // feed-forward down
    long embeddings = (long) vocabSize * c + (usesRope() ? 0 : (long) contextLength * c);
    long head = tieEmbeddings ? 0 : (long) outputSize() * c;
    return embeddings + numLayers * perBlock + normParameterCount(c) + head;
  }

  /**
   * Model FLOPs to train on one token of a {@code sequenceLength}-token sequence (forward + backward), the MFU
   * numerator: 6 × (weights used in matrix products: blocks and LM head; embedding lookups cost none) plus the
   * attention products 12 × n_layers × emb_dim × sequenceLength (QKᵀ and PV, 2·T·C each forward, ×3 with backward).
   */
  public double trainingFlopsPerToken(int sequenceLength) {
    return 6 * matmulWeights() + 12.0 * numLayers * embeddingDim * sequenceLength;
  }

  /** Weights that take part in a matrix product per token (blocks' projections and the head; not embeddings). */
  public double matmulWeights() {
    double c = embeddingDim;
    return numLayers * (c * qkvWidth() + c * c + (usesSwiGlu() ? 3 : 2) * c * hiddenDim) + (double) outputSize() * c;
  }
}
