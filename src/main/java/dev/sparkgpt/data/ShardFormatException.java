package dev.sparkgpt.data;

import dev.sparkgpt.SparkGptException;

/** A token shard directory or file that is incomplete, corrupt or does not match what reads it; names the file. */
public final class ShardFormatException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public ShardFormatException(String message) {
    super(message);
  }

  public ShardFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
