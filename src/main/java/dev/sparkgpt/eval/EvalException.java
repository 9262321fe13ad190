package dev.sparkgpt.eval;

import dev.sparkgpt.SparkGptException;

/** An evaluation that cannot go on: a model breaking the {@link ScoringModel} contract, or an unscorable input. */
public final class EvalException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public EvalException(String message) {
    super(message);
  }

  public EvalException(String message, Throwable cause) {
    super(message, cause);
  }
}
