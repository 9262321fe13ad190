package dev.sparkgpt.io;

import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * The Hadoop configuration for code that runs outside a Spark session (CLI tools, local trainer). Local files are
 * read and written without hidden {@code .crc} files beside outputs (which also make a hand-edited manifest
 * unreadable; {@link LocalFilesWithoutCrc}); Parquet and safetensors carry their own checks. {@code spark.hadoop.*}
 * settings given to the JVM (spark-submit's {@code --conf spark.hadoop.fs.s3a.endpoint=...} reaches the driver as a system property, or
 * {@code SPARKGPT_JAVA_OPTS=-Dspark.hadoop....} for bin/sparkgpt) apply here as they do inside Spark, so an eval or
 * generate of an s3a:// checkpoint reads with the same endpoint and credentials as the jobs.
 */
public final class HadoopConf {
  /** The Hadoop settings that make {@code file:} the crc-free local file system (as spark.hadoop.* inside Spark). */
  public static final Map<String, String> LOCAL_FILES = Map.of("fs.file.impl", LocalFilesWithoutCrc.class.getName(),
      "fs.file.impl.disable.cache", "true");
  /** The prefix under which Spark (and {@link #create}) takes Hadoop settings. */
  public static final String SPARK_PREFIX = "spark.hadoop.";

  private HadoopConf() {}

  public static Configuration create() {
    Configuration conf = new Configuration();
    for (String key : System.getProperties().stringPropertyNames()) {
      if (key.startsWith(SPARK_PREFIX) && key.length() > SPARK_PREFIX.length()) {
        conf.set(key.substring(SPARK_PREFIX.length()), System.getProperty(key));
      }
    }
    useLocalFilesWithoutCrc(conf);
    return conf;
  }

  /** Makes {@code file:} paths of {@code conf} use {@link LocalFilesWithoutCrc}. */
  public static void useLocalFilesWithoutCrc(Configuration conf) {
    LOCAL_FILES.forEach(conf::set);
  }
}
