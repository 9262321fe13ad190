package dev.sparkgpt.io;

import dev.sparkgpt.SparkGptException;

/** A checkpoint that is missing, incomplete, corrupt, or does not fit what resumes from it; names the directory. */
public final class CheckpointException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
