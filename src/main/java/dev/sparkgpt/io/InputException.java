package dev.sparkgpt.io;

import dev.sparkgpt.SparkGptException;

/** An input file or directory that is missing, unreadable or malformed; the message names the file. */
public final class InputException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public InputException(String message) {
    super(message);
  }

  public InputException(String message, Throwable cause) {
    super(message, cause);
  }
}
