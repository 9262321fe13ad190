package dev.sparkgpt.config;

import dev.sparkgpt.SparkGptException;

/** A configuration value (YAML key, command-line override or flag) that cannot be used, with the fix. */
public final class ConfigException extends SparkGptException {
  private static final long serialVersionUID = 1L;
  private final String key;

  /** {@code key} is the dotted config key (e.g. {@code train.micro_batch_size}), {@code problem} what is wrong. */
  public ConfigException(String key, String problem, String fix) {
    super(key + ": " + problem + (fix == null || fix.isEmpty() ? "" : ". Fix: " + fix));
    this.key = key;
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
    this.key = null;
  }

  /** The dotted key the problem is about, or null when it concerns a whole file. */
  public String key() {
    return key;
  }
}
