package dev.sparkgpt.io;

import org.apache.hadoop.conf.Configuration;

/**
 * The Hadoop configuration for code that runs outside a Spark session (CLI tools, local trainer). Local files are
 * read and written raw: no hidden {@code .crc} files beside outputs (which also make a hand-edited manifest
 * unreadable); Parquet and safetensors carry their own checks.
 */
public final class HadoopConf {
  /** Spark setting with the same effect inside a session. */
  public static final String SPARK_RAW_LOCAL = "spark.hadoop.fs.file.impl";

  private HadoopConf() {}

  public static Configuration create() {
    Configuration conf = new Configuration();
    conf.set("fs.file.impl", org.apache.hadoop.fs.RawLocalFileSystem.class.getName());
    conf.setBoolean("fs.file.impl.disable.cache", true);
    return conf;
  }
}
