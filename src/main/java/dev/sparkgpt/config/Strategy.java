package dev.sparkgpt.config;

/** Where training steps run ({@code train.strategy} of pretraining and both finetunes). */
public enum Strategy implements YamlEnum {
  /** In this process. */
  LOCAL,
  /** On Spark workers, their models averaged every averaging_frequency steps. */
  PARAMETER_AVERAGING;

  /** Whether the steps run on Spark workers (a Spark session is needed). */
  public boolean distributed() {
    return this != LOCAL;
  }

  @Override
  public String toString() {
    return key();
  }
}
