package dev.sparkgpt.train;

import dev.sparkgpt.SparkGptException;

/** Training produced a NaN or infinite loss or gradient; the last good checkpoint is kept and named. */
public final class TrainingDivergedException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public TrainingDivergedException(String message) {
    super(message);
  }
}
