package dev.sparkgpt.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.Function;

/**
 * The headline numbers of a run, as labelled, formatted rows: the console and report.html print these same rows,
 * so the two never disagree. Rows appear only when their data exists.
 *
 * @param rows label and formatted value, in display order
 */
public record Summary(List<Row> rows) {
  /** One line of the summary, e.g. {@code best val loss | 2.3450 (step 200)}. */
  public record Row(String label, String value) {}

  public Summary {
    rows = List.copyOf(rows);
  }

  /** The value of the row labelled {@code label}. */
  public Optional<String> value(String label) {
    return rows.stream().filter(r -> r.label().equals(label)).map(Row::value).findFirst();
  }

  /** The rows as aligned {@code label  value} lines, each ending in a newline. */
  public String toConsole() {
    int width = rows.stream().mapToInt(r -> r.label().length()).max().orElse(0);
    StringBuilder out = new StringBuilder();
    rows.forEach(r -> out.append("  ").append(r.label()).append(" ".repeat(width - r.label().length() + 2))
        .append(r.value()).append('\n'));
    return out.toString();
  }

  /** Computes the summary of {@code m}. */
  public static Summary of(RunMetrics m) {
    List<Row> rows = new ArrayList<>();
    addTraining(m.steps(), rows);
    addFinetune(m.epochs(), !m.steps().has("train_loss") && !m.steps().has("val_loss"), rows);
    addEval(m.evalPoints(), rows);
    addPerplexity(m.perplexityPoints(), rows);
    m.confusion().ifPresent(c -> rows.add(new Row("confusion accuracy", String.format(Locale.ROOT,
        "%.4f (%,d of %,d)", c.total() == 0 ? 0.0 : (double) c.correct() / c.total(), c.correct(), c.total()))));
    MetricsLines lines = m.lines();
    if (lines.lines() > 0) {
      rows.add(new Row("metrics lines", String.format(Locale.ROOT, "%,d", lines.lines())
          + (lines.skipped() > 0 ? " (unfinished last line " + lines.skipped() + " skipped)" : "")));
    }
    return new Summary(rows);
  }

  private static void addTraining(MetricsTable steps, List<Row> rows) {
    if (steps.isEmpty()) {
      return;
    }
    List<Map<String, Double>> all = steps.rows();
    rows.add(new Row("steps", whole(all.get(all.size() - 1).get(MetricsLines.STEP))));
    steps.maxBy("tokens_seen").ifPresent(r -> rows.add(new Row("tokens seen", grouped(r.get("tokens_seen")))));
    addLosses(steps, rows);
    OptionalDouble tps = steps.mean("tokens_per_sec");
    if (tps.isPresent()) {
      rows.add(new Row("mean tokens/s", grouped(tps.getAsDouble())));
    }
    OptionalDouble mfu = steps.mean("mfu");
    if (mfu.isPresent()) {
      rows.add(new Row("mean MFU", String.format(Locale.ROOT, "%.2f%%", 100 * mfu.getAsDouble())));
    }
    steps.lastWith("elapsed_s").ifPresent(r -> rows.add(new Row("elapsed", duration(r.get("elapsed_s")))));
    steps.lastWith("workers").ifPresent(r -> rows.add(new Row("workers", whole(r.get("workers")))));
    if (steps.has("round")) {
      rows.add(new Row("rounds logged", grouped(steps.count("round"))));
      StringBuilder ms = new StringBuilder();
      for (String part : RunMetrics.ROUND_PARTS) {
        OptionalDouble mean = steps.mean(part);
        if (mean.isPresent()) {
          ms.append(ms.length() == 0 ? "" : " | ").append(part.replace("_ms", "")).append(' ')
              .append(String.format(Locale.ROOT, "%.1f", mean.getAsDouble()));
        }
      }
      if (ms.length() > 0) {
        rows.add(new Row("mean ms per round", ms.toString()));
      }
    }
  }

  /** final/best train and val loss over the table's rows, each with the step or epoch it was reached at. */
  private static void addLosses(MetricsTable table, List<Row> rows) {
    String index = table.indexKey();
    for (String key : List.of("train_loss", "val_loss")) {
      String name = key.replace('_', ' ');
      table.lastWith(key).ifPresent(r -> rows.add(new Row("final " + name, at(r, key, index))));
      table.minBy(key).ifPresent(r -> rows.add(new Row("best " + name, at(r, key, index))));
    }
  }

  private static void addFinetune(MetricsTable epochs, boolean withLosses, List<Row> rows) {
    if (epochs.isEmpty()) {
      return;
    }
    List<Map<String, Double>> all = epochs.rows();
    rows.add(new Row("epochs", index(all.get(all.size() - 1).get(MetricsLines.EPOCH))));
    if (withLosses) {
      addLosses(epochs, rows);
    }
    for (String key : RunMetrics.ACCURACY_KEYS) {
      String name = key.replace('_', ' ');
      epochs.lastWith(key).ifPresent(r -> rows.add(new Row("final " + name, at(r, key, MetricsLines.EPOCH))));
    }
    epochs.maxBy("val_acc").ifPresent(r -> rows.add(new Row("best val acc", at(r, "val_acc", MetricsLines.EPOCH))));
  }

  /** Per task, the accuracy of the latest checkpoint (a report without a step counts as earliest). */
  private static void addEval(List<EvalPoint> points, List<Row> rows) {
    latest(points.stream().filter(p -> p.acc() != null).toList(), EvalPoint::task, EvalPoint::step)
        .forEach((task, p) -> rows.add(new Row("eval acc " + task, String.format(Locale.ROOT, "%.4f", p.acc())
            + where(p.step(), p.file()) + (p.n() == null ? "" : String.format(Locale.ROOT, ", n=%,d", p.n())))));
  }

  /** Per data source, the perplexity and bits per byte of the latest checkpoint. */
  private static void addPerplexity(List<PerplexityPoint> points, List<Row> rows) {
    Map<String, PerplexityPoint> latest = latest(points, PerplexityPoint::data, PerplexityPoint::step);
    Map<String, String> labels = RunMetrics.dataLabels(latest.keySet());
    latest.forEach((data, p) -> rows.add(new Row("eval perplexity " + labels.get(data),
        String.format(Locale.ROOT, "%.3f", p.perplexity())
            + (p.bitsPerByte() == null ? "" : String.format(Locale.ROOT, ", %.4f bits/byte", p.bitsPerByte()))
            + where(p.step(), p.file())
            + (p.tokens() == null ? "" : String.format(Locale.ROOT, ", %,d tokens", p.tokens())))));
  }

  /** Per key, the point of the latest step (a point without a step counts as earliest), keys in first-seen order. */
  private static <T> Map<String, T> latest(List<T> points, Function<T, String> key, Function<T, Long> step) {
    Map<String, T> latest = new LinkedHashMap<>();
    Comparator<T> byStep = Comparator.comparing(step, Comparator.nullsFirst(Comparator.naturalOrder()));
    for (T p : points) {
      latest.merge(key.apply(p), p, (a, b) -> byStep.compare(b, a) >= 0 ? b : a);
    }
    return latest;
  }

  private static String where(Long step, String file) {
    return step == null ? " (" + file + ")" : " (step " + step + ")";
  }

  private static String at(Map<String, Double> row, String key, String index) {
    return String.format(Locale.ROOT, "%.4f (%s %s)", row.get(key), index, index(row.get(index)));
  }

  /** A step or epoch: a whole number without grouping, or a fraction as given. */
  static String index(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  private static String whole(double v) {
    return Long.toString(Math.round(v));
  }

  private static String grouped(double v) {
    return String.format(Locale.ROOT, "%,d", Math.round(v));
  }

  /** Seconds as {@code 3,725 s (1:02:05)}. */
  static String duration(double seconds) {
    long s = Math.round(seconds);
    return String.format(Locale.ROOT, "%,d s (%d:%02d:%02d)", s, s / 3600, s / 60 % 60, s % 60);
  }
}
