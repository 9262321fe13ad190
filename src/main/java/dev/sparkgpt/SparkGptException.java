package dev.sparkgpt;

/**
 * Root of every error SparkGPT reports to a user: the message says where (file, field, column), what was found
 * versus expected, and the fix. The CLI prints it without a stack trace unless {@code --verbose}.
 */
public abstract class SparkGptException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  protected SparkGptException(String message) {
    super(message);
  }

  protected SparkGptException(String message, Throwable cause) {
    super(message, cause);
  }
}
