package dev.sparkgpt.jobs;

/** SparkGPT's version, as written into manifests and checkpoints. */
public final class Version {
  public static final String VERSION = "0.1.0";

  private Version() {}
}
