package dev.sparkgpt.config;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Where training steps run ({@code train.strategy} of pretraining and both finetunes). */
public enum Strategy {
  /** In this process. */
  LOCAL,
  /** On Spark workers, their models averaged every averaging_frequency steps. */
  PARAMETER_AVERAGING;

  /** The YAML spelling: local, parameter_averaging. */
  @JsonValue
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether the steps run on Spark workers (a Spark session is needed). */
  public boolean distributed() {
    return this != LOCAL;
  }

  @Override
  public String toString() {
    return key();
  }
}
