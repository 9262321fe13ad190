package dev.sparkgpt.model;

/**
 * One micro-batch for next-token training: input ids [B][T], target ids [B][T] ({@link #IGNORE_INDEX} = no loss at
 * that position) and optional non-negative per-token loss weights [B][T] (null = every target weighs 1).
 */
public record TokenBatch(int[][] inputs, int[][] targets, float[][] weights) {
  /** A target that contributes nothing (PyTorch's ignore_index, the data layer's padding). */
  public static final int IGNORE_INDEX = LanguageModelHead.IGNORE_INDEX;

  public TokenBatch {
    if (inputs == null || inputs.length == 0 || inputs[0].length == 0) {
      throw new IllegalArgumentException("a batch needs at least one sequence of at least one token");
    }
    int time = inputs[0].length;
    checkShape("inputs", inputs.length, time, inputs);
    checkShape("targets", inputs.length, time, targets);
    if (weights != null) {
      checkShape("weights", inputs.length, time, weights);
      for (int b = 0; b < weights.length; b++) {
        for (int t = 0; t < time; t++) {
          if (!(weights[b][t] >= 0) || Float.isInfinite(weights[b][t])) {
            throw new IllegalArgumentException("weights[" + b + "][" + t + "] = " + weights[b][t]
                + ": loss weights must be finite and ≥ 0");
          }
        }
      }
    }
  }

  /** Inputs and targets, every target weighing 1. */
  public TokenBatch(int[][] inputs, int[][] targets) {
    this(inputs, targets, null);
  }

  public int batchSize() {
    return inputs.length;
  }

  public int length() {
    return inputs[0].length;
  }

  /** Targets row-major [B·T]. */
  public int[] flatTargets() {
    int time = length();
    int[] flat = new int[batchSize() * time];
    for (int b = 0; b < batchSize(); b++) {
      System.arraycopy(targets[b], 0, flat, b * time, time);
    }
    return flat;
  }

  /** Weights row-major [B·T], or null when none were given. */
  public float[] flatWeights() {
    if (weights == null) {
      return null;
    }
    int time = length();
    float[] flat = new float[batchSize() * time];
    for (int b = 0; b < batchSize(); b++) {
      System.arraycopy(weights[b], 0, flat, b * time, time);
    }
    return flat;
  }

  /** Σ of the weights of non-ignored targets (their count without weights): the mean loss's denominator. */
  public double weightSum() {
    double sum = 0;
    for (int b = 0; b < batchSize(); b++) {
      for (int t = 0; t < length(); t++) {
        if (targets[b][t] != IGNORE_INDEX) {
          sum += weights == null ? 1.0 : weights[b][t];
        }
      }
    }
    return sum;
  }

  private static void checkShape(String what, int batch, int time, Object rows) {
    if (rows == null) {
      throw new IllegalArgumentException(what + " missing");
    }
    int n = java.lang.reflect.Array.getLength(rows);
    if (n != batch) {
      throw new IllegalArgumentException(what + " has " + n + " rows, inputs have " + batch);
    }
    for (int b = 0; b < n; b++) {
      Object row = java.lang.reflect.Array.get(rows, b);
      int length = row == null ? -1 : java.lang.reflect.Array.getLength(row);
      if (length != time) {
        throw new IllegalArgumentException(what + "[" + b + "] has " + length + " tokens, inputs[0] has " + time);
      }
    }
  }
}
