package dev.sparkgpt.io;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A path whose Hadoop FileSystem is not on the classpath, told as what to add. Spark distributions leave out the
 * object-store connectors (hadoop-aws for s3a://, hadoop-azure for abfs://, the GCS connector for gs://); Hadoop
 * then fails at the first such path with a ClassNotFoundException or "No FileSystem for scheme".
 */
public final class MissingFileSystem {
  /** The hadoop-aws of the Hadoop that Spark 3.5 ships (3.3.4); it brings aws-java-sdk-bundle 1.12.262. */
  public static final String HADOOP_AWS = "org.apache.hadoop:hadoop-aws:3.3.4";
  private static final Pattern NO_SCHEME = Pattern.compile("No FileSystem for scheme \"?([A-Za-z0-9+.-]+)\"?");

  private MissingFileSystem() {}

  /** The error to print for the missing file system in {@code t}'s cause chain, or null when there is none. */
  public static InputException find(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      String message = String.valueOf(c.getMessage());
      if (message.contains("org.apache.hadoop.fs.s3a.S3AFileSystem not found")) {
        return forScheme("s3a", c);
      }
      if (message.contains("org.apache.hadoop.fs.azurebfs.AzureBlobFileSystem not found")) {
        return forScheme("abfs", c);
      }
      Matcher scheme = NO_SCHEME.matcher(message);
      if (scheme.find()) {
        return forScheme(scheme.group(1), c);
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return null;
  }

  private static InputException forScheme(String scheme, Throwable cause) {
    return switch (scheme) {
      case "s3a" -> new InputException("s3a:// paths need hadoop-aws, which Spark distributions leave out. Fix: "
          + "spark-submit --packages " + HADOOP_AWS + " (jobs/*.sh: SPARKGPT_S3A=1; the Docker image has it)", cause);
      case "s3" -> new InputException("s3:// is EMR's own file system (EMRFS). Fix: on EMR run on the cluster; "
          + "elsewhere write the path as s3a:// (with --packages " + HADOOP_AWS + ")", cause);
      case "abfs", "abfss" -> new InputException(scheme + ":// paths need hadoop-azure. Fix: spark-submit "
          + "--packages org.apache.hadoop:hadoop-azure:3.3.4", cause);
      case "gs" -> new InputException("gs:// paths need the Cloud Storage connector (Dataproc has it). Fix: add the "
          + "gcs-connector hadoop3 shaded jar with --jars, or run on Dataproc", cause);
      default -> new InputException("no Hadoop FileSystem for " + scheme + "://. Fix: use hdfs://, s3a://, file: or "
          + "a local path, or add the connector jar for " + scheme + ":// with --jars", cause);
    };
  }
}
