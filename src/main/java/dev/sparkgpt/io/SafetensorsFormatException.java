package dev.sparkgpt.io;

import dev.sparkgpt.SparkGptException;

/**
 * A safetensors file or shard index whose content breaks the format or differs from what the caller asked for; the
 * message names the file, the tensor or field, and what was found versus expected.
 */
public final class SafetensorsFormatException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public SafetensorsFormatException(String message) {
    super(message);
  }

  public SafetensorsFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
