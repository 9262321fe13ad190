package dev.sparkgpt.eval;

import dev.sparkgpt.model.TargetScores;
import dev.sparkgpt.model.TokenBatch;

/**
 * What evaluation needs from a language model: next-token logits for a batch of token ids. The GPT model plugs in
 * through a small adapter around its forward pass; log-softmax, padding and batching are done by evaluation
 * ({@link LogLikelihood}), which asks for the scored positions only ({@link #targetLogProbs}): a model that can
 * compute just those rows (the GPT: its LM head on them alone) overrides that method.
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

  /**
   * ln p(targets[b][t] | ids[b][0..t]) and whether that id is the first index of the largest logit (greedy decoding
   * would produce it), at the positions where {@code targets[b][t]} is not {@link TokenBatch#IGNORE_INDEX}; the
   * other positions hold NaN and false. {@code targets} has the shape of {@code ids}, its ids are valid. The default
   * takes the full {@link #logits} and a double log-softmax of the scored rows.
   */
  default TargetScores targetLogProbs(int[][] ids, int[][] targets) {
    return LogLikelihood.fromLogits(this, ids, targets);
  }
}
