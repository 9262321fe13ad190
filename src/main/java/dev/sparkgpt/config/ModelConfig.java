package dev.sparkgpt.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Sizes of a GPT-2-style model (conf/model/*.yaml); no training knobs except dropout. Read by the model, the
 * checkpoint (its architecture is part of every checkpoint) and the Hugging Face converter.
 *
 * @param vocabSize token ids are in [0, vocab_size)
 * @param contextLength longest sequence: rows of the learned position embedding
 * @param embeddingDim model width C
 * @param numHeads attention heads; each is embedding_dim / n_heads wide
 * @param numLayers transformer blocks
 * @param dropRate dropout probability on embeddings, attention weights and residual branches (training only)
 * @param qkvBias whether the query/key/value projection has a bias (GPT-2's released weights do)
 * @param tieEmbeddings whether the LM head reuses the token embedding matrix (GPT-2 does)
 * @param numClasses 0 for a language model; else the output head has this many rows (a classifier, the book's
 *     chapter 6: loss and prediction on the last real token), and the head cannot be tied
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
    @JsonProperty("num_classes") Integer numClasses) implements java.io.Serializable {

  /** A language model (num_classes 0). */
  public ModelConfig(int vocabSize, int contextLength, int embeddingDim, int numHeads, int numLayers,
      double dropRate, boolean qkvBias, boolean tieEmbeddings) {
    this(vocabSize, contextLength, embeddingDim, numHeads, numLayers, dropRate, qkvBias, tieEmbeddings, 0);
  }

  public ModelConfig {
    numClasses = numClasses == null ? 0 : numClasses; // absent from model YAMLs and older checkpoints: an LM
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
        classes > 0 ? false : tieEmbeddings, classes);
  }

  /** Width of one attention head: emb_dim / n_heads. */
  public int headDim() {
    return embeddingDim / numHeads;
  }

  /** Hidden width of the feed-forward network (GPT-2: 4 × emb_dim). */
  public int hiddenDim() {
    return 4 * embeddingDim;
  }

  /** Trainable parameters, counting a tied embedding/head matrix once. */
  public long parameterCount() {
    long c = embeddingDim;
    long perBlock = 2 * c                                  // norm1 scale + shift
        + c * 3 * c + (qkvBias ? 3 * c : 0)                // query, key, value projection
        + c * c + c                                        // attention output projection
        + 2 * c                                            // norm2
        + c * hiddenDim() + hiddenDim()                    // feed-forward up
        + (long) hiddenDim() * c + c;                      // feed-forward down
    long embeddings = (long) vocabSize * c + (long) contextLength * c;
    long head = tieEmbeddings ? 0 : (long) outputSize() * c;
    return embeddings + numLayers * perBlock + 2 * c + head;
  }

  /**
   * Model FLOPs to train on one token of a {@code sequenceLength}-token sequence (forward + backward), the MFU
   * numerator: 6 × (weights used in matrix products: blocks and LM head; embedding lookups cost none) plus the
   * attention products 12 × n_layers × emb_dim × sequenceLength (QKᵀ and PV, 2·T·C each forward, ×3 with backward).
   */
  public double trainingFlopsPerToken(int sequenceLength) {
    double c = embeddingDim;
    double matmulWeights = numLayers * (3 * c * c + c * c + 2 * c * hiddenDim()) + (double) outputSize() * c;
    return 6 * matmulWeights + 12.0 * numLayers * c * sequenceLength;
  }
}
