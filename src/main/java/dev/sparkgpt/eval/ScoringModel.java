package dev.sparkgpt.eval;

/**
 * What evaluation needs from a language model: next-token logits for a batch of token ids. The GPT model plugs in
 * through a one-line adapter around its forward pass; log-softmax, padding and batching are done by evaluation
 * ({@link LogLikelihood}).
 *
 * <p>The model must be causal: {@code logits[b][t]} may depend on {@code ids[b][0..t]} only, because shorter
 * sequences of a batch are right-padded (with id 0) and the padded positions are never read.
 */
public interface ScoringModel {
  /** The most tokens one sequence may hold (the model's block size). */
  int contextLength();

  /** Ids 0..vocabSize-1 are valid; every logits row has this many entries. */
  int vocabSize();

  /**
   * Next-token logits (unnormalised) of a rectangular batch: {@code ids} is [B][T] with 1 ≤ T ≤ contextLength(),
   * the result is [B][T][vocabSize()], where {@code result[b][t][v]} scores id {@code v} as the token after
   * {@code ids[b][t]}.
   */
  float[][][] logits(int[][] ids);
}
