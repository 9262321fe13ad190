package dev.sparkgpt.jobs;

import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What the Airflow DAGs read from a run, on whatever file system holds it (hdfs://, s3a://, gs://, file:): one JSON
 * object on stdout, path → {exists, text (a file's content) or children (a directory's names)}. Python on an
 * Airflow worker has no Hadoop client, so jobs/airflow/sparkgpt_common.py runs this through spark-submit in local
 * mode, with the cluster's Hadoop configuration (HADOOP_CONF_DIR, spark.hadoop.* from spark-defaults).
 *
 * <p>Usage: {@code spark-submit --master local[1] --class dev.sparkgpt.jobs.RunProbe JAR PATH...}
 */
public final class RunProbe {
  /** Larger files are refused: the DAGs read {@code latest} and report.json, never data. */
  static final int MAX_TEXT_BYTES = 1 << 20;

  private RunProbe() {}

  public static void main(String[] args) {
    if (args.length == 0) {
      System.err.println("usage: RunProbe PATH...  (prints path -> {exists, text | children} as JSON)");
      System.exit(2);
    }
    Configuration conf = org.apache.spark.deploy.SparkHadoopUtil.get()
        .newConfiguration(new org.apache.spark.SparkConf());
    try {
      System.out.print(JsonFiles.toJson(probe(List.of(args), conf)));
    } catch (RuntimeException e) {
      dev.sparkgpt.SparkGptException known = Jobs.explain(e);
      System.err.println("error: " + (known != null ? known.getMessage() : e.toString()));
      System.exit(2);
    }
  }

  /** Each path's state, in the order given. */
  public static Map<String, Map<String, Object>> probe(List<String> paths, Configuration conf) {
    Map<String, Map<String, Object>> out = new LinkedHashMap<>();
    for (String p : paths) {
      out.put(p, probe(new Path(p), conf));
    }
    return out;
  }

  private static Map<String, Object> probe(Path path, Configuration conf) {
    Map<String, Object> state = new LinkedHashMap<>();
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) {
        state.put("exists", false);
        return state;
      }
      state.put("exists", true);
      FileStatus status = fs.getFileStatus(path);
      if (status.isDirectory()) {
        List<String> children = new ArrayList<>();
        for (FileStatus child : fs.listStatus(path)) {
          children.add(child.getPath().getName());
        }
        children.sort(null);
        state.put("children", children);
      } else if (status.getLen() > MAX_TEXT_BYTES) {
        throw new InputException(path + ": " + status.getLen() + " bytes, more than the " + MAX_TEXT_BYTES
            + " a probe reads. Fix: probe the run's small files (latest, eval/*.json), not data");
      } else {
        try (InputStream in = fs.open(path)) {
          state.put("text", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      return state;
    } catch (IOException e) {
      throw new InputException(path + ": cannot read: " + e.getMessage(), e);
    }
  }
}
