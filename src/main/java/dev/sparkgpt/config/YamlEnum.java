package dev.sparkgpt.config;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * A config enum spelled in YAML (and in messages) as its lower-case name: {@code parameter_averaging},
 * {@code bf16}. Jackson reads and writes {@link #key}; ConfigLoader lists the keys when a value is none of them.
 */
public interface YamlEnum {
  String name();

  /** The YAML spelling. */
  @JsonValue
  default String key() {
    return name().toLowerCase(Locale.ROOT);
  }
}
