package dev.sparkgpt.report;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;

/**
 * The last stage of the flow text → shards → checkpoint → report, drawn: a run's metrics as PNG charts plus
 * report.html, written together into one directory.
 */
public final class RunReport {
  public static final String HTML_FILE = "report.html";
  /** Where the report goes when --out is not given: this folder inside the run directory. */
  public static final String DEFAULT_DIR = "report";

  /**
   * What was written.
   *
   * @param outDir the report directory
   * @param files the file names in it: the PNGs in report order, then report.html
   * @param summary the numbers of the summary table
   * @param warnings what loading and drawing skipped or left out
   */
  public record Result(String outDir, List<String> files, Summary summary, List<String> warnings) {}

  private RunReport() {}

  /** Draws {@code metrics} into {@code outDir} (replacing an older report there); {@code logX}: see --log-x. */
  public static Result write(RunMetrics metrics, String outDir, boolean logX, Configuration conf) {
    ReportCharts charts = new ReportCharts(metrics, logX);
    List<ReportCharts.NamedChart> drawn = charts.all();
    List<String> warnings = new ArrayList<>(metrics.warnings());
    warnings.addAll(charts.warnings());
    Summary summary = Summary.of(metrics);
    Map<String, ReportDirectory.Content> files = new LinkedHashMap<>();
    for (ReportCharts.NamedChart chart : drawn) {
      files.put(chart.fileName(), () -> BitmapEncoder.getBitmapBytes(chart.chart(), BitmapFormat.PNG));
    }
    String createdAt = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    String html = ReportPage.render(metrics.dir(), summary, drawn, warnings, createdAt);
    files.put(HTML_FILE, () -> html.getBytes(StandardCharsets.UTF_8));
    ReportDirectory.write(outDir, files, conf);
    return new Result(outDir, List.copyOf(files.keySet()), summary, List.copyOf(warnings));
  }
}
