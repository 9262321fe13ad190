package dev.sparkgpt.io;

import org.apache.hadoop.conf.Configuration;

/**
 * The Hadoop configuration for code that runs outside a Spark session (CLI tools, local trainer). Local files are
 * read and written without hidden {@code .crc} files beside outputs (which also make a hand-edited manifest
 * unreadable; {@link LocalFilesWithoutCrc}); Parquet and safetensors carry their own checks. {@code spark.hadoop.*} settings given to the JVM
 * (spark-submit's {@code --conf spark.hadoop.fs.s3a.endpoint=...} reaches the driver as a system property, or
 * {@code SPARKGPT_JAVA_OPTS=-Dspark.hadoop....} for bin/sparkgpt) apply here as they do inside Spark, so an eval or
 * generate of an s3a:// checkpoint reads with the same endpoint and credentials as the jobs.
 */
public final class HadoopConf {
  /** Spark setting with the same effect inside a session. */
  public static final String SPARK_RAW_LOCAL = "spark.hadoop.fs.file.impl";
  private static final String SPARK_PREFIX = "spark.hadoop.";

  private HadoopConf() {}

  public static Configuration create() {
    Configuration conf = new Configuration();
    for (String key : System.getProperties().stringPropertyNames()) {
      if (key.startsWith(SPARK_PREFIX) && key.length() > SPARK_PREFIX.length()) {
        conf.set(key.substring(SPARK_PREFIX.length()), System.getProperty(key));
      }
    }
    conf.set("fs.file.impl", LocalFilesWithoutCrc.class.getName());
    conf.setBoolean("fs.file.impl.disable.cache", true);
    return conf;
  }
}
