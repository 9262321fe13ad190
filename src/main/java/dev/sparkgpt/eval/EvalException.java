package dev.sparkgpt.eval;

import dev.sparkgpt.SparkGptException;

/** An evaluation that cannot go on: a model that breaks the {@link ScoringModel} contract, or an input it cannot score. */
public final class EvalException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public EvalException(String message) {
    super(message);
  }

  public EvalException(String message, Throwable cause) {
    super(message, cause);
  }
}
