package dev.sparkgpt.eval;

import dev.sparkgpt.io.JsonFiles;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * An evaluation in lm-evaluation-harness's output schema (0.4), so its tooling and dashboards read our results:
 * {@code results_<date>.json} ({@code results} with {@code "acc,none"}-style keys, {@code configs}, {@code versions},
 * {@code n-shot}, {@code higher_is_better}, {@code n-samples}, {@code config}, {@code git_hash}, {@code date},
 * {@code total_evaluation_time_seconds}) and {@code samples_<task>_<date>.jsonl} beside report.json, and the samples
 * as Parquet partitioned by checkpoint and task ({@code samples.parquet/checkpoint=…/task=…}), so the results of
 * every checkpoint evaluated into one directory are one Spark SQL table.
 */
public final class HarnessResults {
  /** Version of our tasks' definitions, reported per task under {@code versions}. */
  public static final double TASK_VERSION = 1.0;
  /** The Parquet table of samples, inside the report's directory. */
  public static final String PARQUET = "samples.parquet";

  private HarnessResults() {}

  /** The harness's file-name timestamp: local ISO time with ':' replaced by '-' (here UTC). */
  public static String timestamp(Instant when) {
    return LocalDateTime.ofInstant(when, ZoneOffset.UTC).format(DateTimeFormatter.ofPattern(
        "yyyy-MM-dd'T'HH-mm-ss.SSSSSS"));
  }

  /**
   * The results document. {@code sizes}: items in each task file (n-samples' "original"); {@code config}: model,
   * model_args, batch_size, limit and the seeds.
   */
  public static Map<String, Object> results(Map<String, TaskEvaluation.Evaluated> tasks, Map<String, Integer> sizes,
      Map<String, Object> config, double totalSeconds, Instant date) {
    Map<String, Object> results = new LinkedHashMap<>();
    Map<String, Object> configs = new LinkedHashMap<>();
    Map<String, Object> versions = new LinkedHashMap<>();
    Map<String, Object> nShot = new LinkedHashMap<>();
    Map<String, Object> higher = new LinkedHashMap<>();
    Map<String, Object> nSamples = new LinkedHashMap<>();
    tasks.forEach((name, e) -> {
      TaskResult r = e.result();
      Map<String, Object> metrics = new LinkedHashMap<>();
      Map<String, Boolean> better = new LinkedHashMap<>();
      metrics.put("alias", name);
      metrics.put("acc,none", r.acc());
      metrics.put("acc_stderr,none", orNa(r.accStderr()));
      better.put("acc", true);
      if (r.accNorm() != null) {
        metrics.put("acc_norm,none", r.accNorm());
        metrics.put("acc_norm_stderr,none", orNa(r.accNormStderr()));
        better.put("acc_norm", true);
      }
      if (r.accBytes() != null) {
        metrics.put("acc_bytes,none", r.accBytes());
        metrics.put("acc_bytes_stderr,none", orNa(r.accBytesStderr()));
        better.put("acc_bytes", true);
      }
      if (r.perplexity() != null) {
        metrics.put("perplexity,none", r.perplexity());
        metrics.put("perplexity_stderr,none", "N/A");
        better.put("perplexity", false);
      }
      results.put(name, metrics);
      Map<String, Object> taskConfig = new LinkedHashMap<>();
      taskConfig.put("task", name);
      taskConfig.put("dataset_path", r.file());
      taskConfig.put("output_type", "last_word".equals(r.kind()) ? "loglikelihood" : "multiple_choice");
      taskConfig.put("num_fewshot", r.numFewshot());
      taskConfig.put("target_delimiter", Prompts.TARGET_DELIMITER);
      taskConfig.put("fewshot_delimiter", Prompts.FEWSHOT_DELIMITER);
      List<Map<String, Object>> metricList = new ArrayList<>();
      better.forEach((metric, up) -> metricList.add(Map.of("metric", metric, "aggregation", metric.equals(
          "perplexity") ? "perplexity" : "mean", "higher_is_better", up)));
      taskConfig.put("metric_list", metricList);
      taskConfig.put("metadata", Map.of("version", TASK_VERSION));
      configs.put(name, taskConfig);
      versions.put(name, TASK_VERSION);
      nShot.put(name, r.numFewshot());
      higher.put(name, better);
      nSamples.put(name, Map.of("original", sizes.getOrDefault(name, r.n()), "effective", r.n()));
    });
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("results", results);
    out.put("group_subtasks", tasks.keySet().stream().collect(LinkedHashMap::new, (m, k) -> m.put(k, List.of()),
        Map::putAll));
    out.put("configs", configs);
    out.put("versions", versions);
    out.put("n-shot", nShot);
    out.put("higher_is_better", higher);
    out.put("n-samples", nSamples);
    out.put("config", config);
    out.put("git_hash", gitHash());
    out.put("date", date.toEpochMilli() / 1000.0);
    out.put("total_evaluation_time_seconds", String.valueOf(totalSeconds));
    return out;
  }

  /** The harness's {@code config} block for a SparkGPT checkpoint. */
  public static Map<String, Object> config(String checkpoint, int batchSize, int limit, long seed) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("model", "sparkgpt");
    config.put("model_args", "checkpoint=" + checkpoint);
    config.put("batch_size", batchSize);
    config.put("batch_sizes", List.of());
    config.put("device", "cpu");
    config.put("limit", limit < 0 ? null : limit);
    config.put("bootstrap_iters", 0);
    config.put("gen_kwargs", null);
    config.put("random_seed", seed);
    config.put("numpy_seed", seed);
    config.put("torch_seed", seed);
    config.put("fewshot_seed", seed);
    config.put("seeds", Map.of("random_seed", seed, "numpy_seed", seed, "torch_seed", seed, "fewshot_seed", seed));
    return config;
  }

  /**
   * Writes results_<stamp>.json and one samples_<task>_<stamp>.jsonl per task into {@code dir}; returns the paths.
   */
  public static List<String> write(String dir, String stamp, Map<String, Object> results,
      Map<String, TaskEvaluation.Evaluated> tasks, Configuration conf) {
    List<String> written = new ArrayList<>();
    String resultsPath = new Path(dir, "results_" + stamp + ".json").toString();
    EvalReport.writeAtomically(resultsPath, JsonFiles.toJson(results).getBytes(StandardCharsets.UTF_8), conf);
    written.add(resultsPath);
    tasks.forEach((name, e) -> {
      StringBuilder lines = new StringBuilder();
      for (HarnessSample s : e.samples()) {
        lines.append(JsonFiles.line(s));
      }
      String path = new Path(dir, "samples_" + name + "_" + stamp + ".jsonl").toString();
      EvalReport.writeAtomically(path, lines.toString().getBytes(StandardCharsets.UTF_8), conf);
      written.add(path);
    });
    return written;
  }

  private static final StructType SAMPLE_SCHEMA = new StructType()
      .add("doc_id", DataTypes.IntegerType, false)
      .add("doc", DataTypes.StringType, false)
      .add("target", DataTypes.StringType, false)
      .add("arguments", DataTypes.StringType, false)
      .add("resps", DataTypes.StringType, false)
      .add("acc", DataTypes.DoubleType, true)
      .add("acc_norm", DataTypes.DoubleType, true)
      .add("acc_bytes", DataTypes.DoubleType, true)
      .add("loglikelihood", DataTypes.DoubleType, true)
      .add("doc_hash", DataTypes.StringType, false)
      .add("prompt_hash", DataTypes.StringType, false)
      .add("target_hash", DataTypes.StringType, false)
      .add("date", DataTypes.StringType, false)
      .add("checkpoint", DataTypes.StringType, false)
      .add("task", DataTypes.StringType, false);

  /**
   * Writes the samples into {@code dir}/samples.parquet, partitioned by checkpoint and task; a partition written
   * again (the same checkpoint and task evaluated again) is replaced, the others are kept. {@code doc},
   * {@code arguments} and {@code resps} are JSON strings (Spark SQL's get_json_object / from_json read them).
   */
  public static String writeParquet(SparkSession spark, String dir, String checkpoint, String stamp,
      Map<String, TaskEvaluation.Evaluated> tasks) {
    List<Row> rows = new ArrayList<>();
    tasks.forEach((name, e) -> {
      for (HarnessSample s : e.samples()) {
        Map<String, Double> m = s.metricValues();
        rows.add(RowFactory.create(s.docId(), JsonFiles.line(s.doc()).strip(), s.target(),
            JsonFiles.line(s.arguments()).strip(), JsonFiles.line(s.resps()).strip(), m.get("acc"), m.get("acc_norm"),
            m.get("acc_bytes"), m.get("perplexity"), s.docHash(), s.promptHash(), s.targetHash(), stamp, checkpoint,
            name));
      }
    });
    String path = new Path(dir, PARQUET).toString();
    Dataset<Row> frame = spark.createDataFrame(rows, SAMPLE_SCHEMA);
    frame.write().mode(SaveMode.Overwrite).option("partitionOverwriteMode", "dynamic")
        .partitionBy("checkpoint", "task").parquet(path);
    return path;
  }

  private static Object orNa(Double stderr) {
    return stderr == null ? "N/A" : stderr;
  }

  /** {@code git describe --always} of the working directory, as the harness records its own; null outside git. */
  static String gitHash() {
    try {
      Process p = new ProcessBuilder("git", "describe", "--always").redirectErrorStream(true).start();
      String out;
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        out = r.readLine();
      }
      return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0 && out != null ? out.strip() : null;
    } catch (Exception e) {
      return null;
    }
  }
}
