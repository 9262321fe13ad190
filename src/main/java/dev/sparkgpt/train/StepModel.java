package dev.sparkgpt.train;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the training loop needs from a model and its optimizer, whatever computes them (the SameDiff GPT locally,
 * or parameter averaging over Spark workers): one optimizer step over micro-batches, a validation loss, a greedy
 * sample, and the state a checkpoint must hold for an exact resume.
 */
public interface StepModel {
  /** Loss and global gradient norm (before clipping) of one optimizer step. */
  record StepResult(double loss, double gradNorm) {}

  /**
   * One optimizer step: gradients of the mean loss over all micro-batches (each {@code [B][T]} ids and targets, -100
   * = ignored), clipped to {@code maxNorm} (0 = off), applied with learning rate {@code lr}.
   */
  StepResult step(int[][][] inputs, int[][][] targets, double lr, double maxNorm);

  /** Mean loss of a batch without dropout or any update. */
  double loss(int[][] inputs, int[][] targets);

  /**
   * Continuation of {@code prompt} picked by {@code sampler}: the new ids only (stops early at {@code stopId}, -1 =
   * never), each below {@code idLimit} (the tokenizer's size: a model vocabulary padded past it never yields an
   * undecodable id).
   */
  int[] generate(int[] prompt, int maxNewTokens, int stopId, int idLimit, dev.sparkgpt.generate.Sampler sampler);

  /** Trainable parameters. */
  long parameterCount();

  /** Model FLOPs of one trained token (forward + backward), for MFU: 6·N + attention terms. */
  double flopsPerToken();

  /** Weights by name (float32, as written to model.safetensors). */
  Map<String, INDArray> weights();

  /** Optimizer state by name (moments, step counters), as written to optimizer.safetensors. */
  Map<String, INDArray> optimizerState();

  /** The same as views where the model can give them (no copy of the moments): valid until the next step. */
  default Map<String, INDArray> optimizerStateViews() {
    return optimizerState();
  }

  /** RNG state (dropout) as a long, saved and restored for an exact resume. */
  long rngState();

  /** Restores weights, optimizer state and RNG from a checkpoint. */
  void restore(Map<String, INDArray> weights, Map<String, INDArray> optimizerState, long rngState);

  /**
   * The live flat float32 vector of the trainable weights (what {@link #weights} names, in the model's own order):
   * what parameter averaging exchanges. Writing into it changes the model.
   */
  INDArray weightVector();

  /** Restores the optimizer state alone (a parameter-averaging worker's moments). */
  void restoreOptimizer(Map<String, INDArray> optimizerState);

  /** Sets the dropout RNG state. */
  void setRngState(long rngState);
}
