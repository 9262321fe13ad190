package dev.sparkgpt.config;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** How a parameter-averaging round turns the workers' mean into the next weights ({@code train.outer_optimizer}). */
public enum OuterUpdate {
  /** The workers' mean becomes the model (classic parameter averaging). */
  AVERAGE,
  /** DiLoCo: outer SGD with Nesterov momentum on the mean pseudo-gradient (outer_lr, outer_momentum). */
  NESTEROV;

  /** The YAML spelling: average, nesterov. */
  @JsonValue
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return key();
  }
}
