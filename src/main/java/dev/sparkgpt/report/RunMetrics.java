package dev.sparkgpt.report;

import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Everything a report draws from one run directory (docs/metrics-format.md), as typed series: metrics.jsonl,
 * eval reports ({@code eval/*.json}, {@code report.json}) and {@code confusion.json}. Loading reads and checks the
 * files; the accessors only pick points.
 */
public final class RunMetrics {
  public static final String METRICS_FILE = "metrics.jsonl";
  /** The distributed timing keys, bottom to top of the stacked chart. */
  public static final List<String> ROUND_PARTS = List.of("compute_ms", "broadcast_ms", "averaging_ms");
  /** The finetune accuracy keys, in legend order. */
  public static final List<String> ACCURACY_KEYS = List.of("train_acc", "val_acc", "test_acc");

  private final String dir;
  private final MetricsLines lines;
  private final List<EvalPoint> evals;
  private final List<PerplexityPoint> perplexities;
  private final ConfusionMatrix confusion;
  private final List<String> warnings;

  private RunMetrics(String dir, MetricsLines lines, EvalReports.Points evals, ConfusionMatrix confusion,
      List<String> warnings) {
    this.dir = dir;
    this.lines = lines;
    this.evals = evals.tasks();
    this.perplexities = evals.perplexity();
    this.confusion = confusion;
    this.warnings = List.copyOf(warnings);
  }

  /** Loads a local run directory. */
  public static RunMetrics load(java.nio.file.Path dir) {
    return load(dir.toString(), HadoopConf.create());
  }

  /**
   * Loads {@code dir} (any Hadoop path). Fails when it is missing, holds none of the files, or holds them with
   * nothing in them to show.
   */
  public static RunMetrics load(String dir, Configuration conf) {
    Path root = new Path(dir);
    try {
      FileSystem fs = root.getFileSystem(conf);
      if (!fs.exists(root)) {
        throw new InputException(dir + ": no such run directory. Fix: give the out_dir of a pretrain or finetune "
            + "run (it holds " + METRICS_FILE + ")");
      }
      if (!fs.getFileStatus(root).isDirectory()) {
        throw new InputException(dir + ": is a file, not a run directory. Fix: give the directory that holds "
            + METRICS_FILE);
      }
      List<String> warnings = new ArrayList<>();
      Path metricsFile = new Path(root, METRICS_FILE);
      MetricsLines lines = fs.exists(metricsFile) ? MetricsLines.read(metricsFile, fs)
          : MetricsLines.parse(METRICS_FILE, List.of());
      if (lines.skipped() > 0) {
        warnings.add(METRICS_FILE + ":" + lines.skipped() + ": unfinished last line skipped (a run that stopped "
            + "mid-write)");
      }
      if (lines.nonFinite() > 0) {
        warnings.add(METRICS_FILE + ": " + lines.nonFinite() + " NaN or infinite values left out");
      }
      List<Path> evalFiles = EvalReports.find(root, fs);
      EvalReports.Points evals = EvalReports.read(evalFiles, dir, fs, warnings);
      Path confusionFile = new Path(root, ConfusionMatrix.FILE);
      ConfusionMatrix confusion = fs.exists(confusionFile) ? ConfusionMatrix.read(confusionFile, fs) : null;
      if (!fs.exists(metricsFile) && evalFiles.isEmpty() && confusion == null) {
        throw new InputException(dir + ": nothing to report: no " + METRICS_FILE + ", " + EvalReports.EVAL_DIR
            + "/*.json, " + EvalReports.REPORT_FILE + " or " + ConfusionMatrix.FILE + ". Fix: give the out_dir of "
            + "a pretrain or finetune run");
      }
      RunMetrics metrics = new RunMetrics(dir, lines, evals, confusion, warnings);
      if (metrics.isEmpty()) {
        throw new InputException(dir + ": nothing to report: " + METRICS_FILE + " has " + lines.lines()
            + " lines but none with a step or an epoch, and there are no eval reports or " + ConfusionMatrix.FILE
            + ". Fix: check that the run logged metrics (docs/metrics-format.md)");
      }
      return metrics;
    } catch (IOException e) {
      throw new InputException(dir + ": cannot read the run directory: " + e.getMessage(), e);
    }
  }

  /** Whether there is nothing to show: no step or epoch rows, no eval points, no confusion matrix. */
  public boolean isEmpty() {
    return lines.steps().isEmpty() && lines.epochs().isEmpty() && evals.isEmpty() && perplexities.isEmpty()
        && confusion == null;
  }

  /** The run directory as given. */
  public String dir() {
    return dir;
  }

  /** The metrics.jsonl tables and counts. */
  public MetricsLines lines() {
    return lines;
  }

  /** Training rows, by step. */
  public MetricsTable steps() {
    return lines.steps();
  }

  /** Finetune epoch rows (lines with epoch and no step), by epoch. */
  public MetricsTable epochs() {
    return lines.epochs();
  }

  public List<EvalPoint> evalPoints() {
    return evals;
  }

  /** Perplexity and bits per byte of every data source in the eval reports, in reading order. */
  public List<PerplexityPoint> perplexityPoints() {
    return perplexities;
  }

  public Optional<ConfusionMatrix> confusion() {
    return Optional.ofNullable(confusion);
  }

  /** What was skipped or left out while loading, one sentence each. */
  public List<String> warnings() {
    return warnings;
  }

  /** Whether the loss series are over tokens seen (true) or, when no line has tokens_seen, over steps. */
  public boolean lossByTokens() {
    return steps().has("tokens_seen");
  }

  /** The x key of the loss series: tokens_seen, or step when no line has it. */
  public String lossX() {
    return lossByTokens() ? "tokens_seen" : MetricsLines.STEP;
  }

  public Series trainLoss() {
    return steps().series(lossX(), "train_loss");
  }

  public Series valLoss() {
    return steps().series(lossX(), "val_loss");
  }

  public Series learningRate() {
    return steps().series(MetricsLines.STEP, "lr");
  }

  public Series gradNorm() {
    return steps().series(MetricsLines.STEP, "grad_norm");
  }

  public Series tokensPerSec() {
    return steps().series(MetricsLines.STEP, "tokens_per_sec");
  }

  public Series mfu() {
    return steps().series(MetricsLines.STEP, "mfu");
  }

  /**
   * Milliseconds per distributed round, one series per {@link #ROUND_PARTS} key, over the rounds logged (rows with
   * {@code round} and at least one part; a part a row lacks counts 0). A round logged twice keeps its later line.
   */
  public List<Series> roundTimings() {
    TreeMap<Double, Map<String, Double>> byRound = new TreeMap<>();
    for (Map<String, Double> row : steps().rows()) {
      Double round = row.get("round");
      if (round != null && ROUND_PARTS.stream().anyMatch(row::containsKey)) {
        byRound.put(round, row);
      }
    }
    List<Series> out = new ArrayList<>();
    if (byRound.isEmpty()) {
      return out;
    }
    double[] x = byRound.keySet().stream().mapToDouble(Double::doubleValue).toArray();
    for (String part : ROUND_PARTS) {
      double[] y = byRound.values().stream().mapToDouble(r -> r.getOrDefault(part, 0.0)).toArray();
      out.add(new Series(part, x, y));
    }
    return out;
  }

  /** train_acc, val_acc, test_acc by epoch: those present in epoch lines. */
  public List<Series> finetuneAccuracy() {
    return presentSeries(ACCURACY_KEYS);
  }

  /** train_loss, val_loss by epoch: those present in epoch lines. */
  public List<Series> finetuneLoss() {
    return presentSeries(List.of("train_loss", "val_loss"));
  }

  private List<Series> presentSeries(List<String> keys) {
    List<Series> out = new ArrayList<>();
    for (String key : keys) {
      Series s = epochs().series(MetricsLines.EPOCH, key);
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }

  /** Accuracy per task over checkpoint steps (reports with a step and an acc), tasks in first-seen order. */
  public Map<String, Series> evalAccuracy() {
    Map<String, TreeMap<Long, EvalPoint>> byTask = new LinkedHashMap<>();
    for (EvalPoint p : evals) {
      if (p.step() != null && p.acc() != null) {
        byTask.computeIfAbsent(p.task(), t -> new TreeMap<>()).put(p.step(), p);
      }
    }
    Map<String, Series> out = new LinkedHashMap<>();
    byTask.forEach((task, points) -> out.put(task, new Series(task,
        points.keySet().stream().mapToDouble(Long::doubleValue).toArray(),
        points.values().stream().mapToDouble(EvalPoint::acc).toArray())));
    return out;
  }

  /** Perplexity per data source over checkpoint steps (reports with a step), sources in first-seen order. */
  public Map<String, Series> evalPerplexity() {
    return perplexitySeries(PerplexityPoint::perplexity);
  }

  /** Bits per byte per data source over checkpoint steps (reports with a step and the value). */
  public Map<String, Series> evalBitsPerByte() {
    return perplexitySeries(PerplexityPoint::bitsPerByte);
  }

  /**
   * Short names of eval data sources for legends and the summary: the last path element (runs/x/shards → shards),
   * or the whole path when two sources share that element.
   */
  public static Map<String, String> dataLabels(java.util.Collection<String> data) {
    Map<String, Long> counts = new java.util.HashMap<>();
    Map<String, String> last = new LinkedHashMap<>();
    for (String d : data) {
      String trimmed = d.replaceAll("/+$", "");
      last.put(d, trimmed.substring(trimmed.lastIndexOf('/') + 1));
      counts.merge(last.get(d), 1L, Long::sum);
    }
    Map<String, String> out = new LinkedHashMap<>();
    last.forEach((d, name) -> out.put(d, counts.get(name) > 1 || name.isEmpty() ? d : name));
    return out;
  }

  private Map<String, Series> perplexitySeries(java.util.function.Function<PerplexityPoint, Double> value) {
    Map<String, TreeMap<Long, Double>> byData = new LinkedHashMap<>();
    for (PerplexityPoint p : perplexities) {
      if (p.step() != null && value.apply(p) != null) {
        byData.computeIfAbsent(p.data(), d -> new TreeMap<>()).put(p.step(), value.apply(p));
      }
    }
    Map<String, Series> out = new LinkedHashMap<>();
    byData.forEach((data, points) -> out.put(data, new Series(data,
        points.keySet().stream().mapToDouble(Long::doubleValue).toArray(),
        points.values().stream().mapToDouble(Double::doubleValue).toArray())));
    return out;
  }

  /** The standard errors of {@link #evalAccuracy()}'s points for {@code task}, or null unless every point has one. */
  public double[] evalAccuracyStderr(String task) {
    TreeMap<Long, EvalPoint> points = new TreeMap<>();
    for (EvalPoint p : evals) {
      if (p.task().equals(task) && p.step() != null && p.acc() != null) {
        points.put(p.step(), p);
      }
    }
    if (points.isEmpty() || points.values().stream().anyMatch(p -> p.accStderr() == null)) {
      return null;
    }
    return points.values().stream().mapToDouble(EvalPoint::accStderr).toArray();
  }
}
