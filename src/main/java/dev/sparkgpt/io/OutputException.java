package dev.sparkgpt.io;

import dev.sparkgpt.SparkGptException;

/** An output file that could not be written or moved into place; the message names the file. */
public final class OutputException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public OutputException(String message) {
    super(message);
  }

  public OutputException(String message, Throwable cause) {
    super(message, cause);
  }
}
