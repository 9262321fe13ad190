package dev.sparkgpt.eval;

import dev.sparkgpt.SparkGptException;

/** A task file that cannot be read as a task: unknown extension, malformed line, bad field; names file and line. */
public final class TaskFormatException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public TaskFormatException(String message) {
    super(message);
  }

  public TaskFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
