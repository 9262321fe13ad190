package dev.sparkgpt.config;

/** How a parameter-averaging round turns the workers' mean into the next weights ({@code train.outer_optimizer}). */
public enum OuterUpdate implements YamlEnum {
  /** The workers' mean becomes the model (classic parameter averaging). */
  AVERAGE,
  /** DiLoCo: outer SGD with Nesterov momentum on the mean pseudo-gradient (outer_lr, outer_momentum). */
  NESTEROV;

  @Override
  public String toString() {
    return key();
  }
}
