package dev.sparkgpt.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The charts of a report, drawn with XChart from a {@link RunMetrics}: each one only when its data exists. Charts are
 * built here and rendered to PNG by {@link RunReport}; the builders are public so tests can check axis settings.
 */
public final class ReportCharts {
  public static final int WIDTH = 800;
  public static final int HEIGHT = 480;
  private static final int MAX_DATA_TICKS = 12;
  private static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 16);
  private static final Font AXIS_TITLE_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
  private static final Font TICK_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
  // matplotlib's tab10 colours: familiar from notebooks, and distinct in greyscale order
  private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
      new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)};

  static {
    // charts are drawn off-screen; on a server without a display AWT must not look for one
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  /** A chart and the PNG file it goes to. */
  public record NamedChart(String fileName, String title, Chart<?, ?> chart) {}

  private final RunMetrics metrics;
  private final boolean logX;

  /** Charts of {@code metrics}; {@code logX} puts the loss chart's x axis (tokens seen) on a log scale. */
  public ReportCharts(RunMetrics metrics, boolean logX) {
    this.metrics = metrics;
    this.logX = logX;
  }

  /** Every chart whose data exists, in report order. */
  public List<NamedChart> all() {
    List<NamedChart> charts = new ArrayList<>();
    loss().ifPresent(c -> charts.add(new NamedChart("loss.png", c.getTitle(), c)));
    line("lr.png", "Learning-rate schedule", "learning rate", metrics.learningRate(), null)
        .ifPresent(charts::add);
    line("grad_norm.png", "Gradient norm", "grad norm", metrics.gradNorm(), null)
        .ifPresent(charts::add);
    line("tokens_per_sec.png", "Throughput", "tokens / s", metrics.tokensPerSec(), ReportCharts::compact)
        .ifPresent(charts::add);
    line("mfu.png", "Model FLOPs utilisation", "MFU", metrics.mfu(), ReportCharts::percent).ifPresent(charts::add);
    roundTimings().ifPresent(c -> charts.add(new NamedChart("round_timings.png", c.getTitle(), c)));
    evalAccuracy().ifPresent(c -> charts.add(new NamedChart("eval_accuracy.png", c.getTitle(), c)));
    evalPerplexity().ifPresent(c -> charts.add(new NamedChart("eval_perplexity.png", c.getTitle(), c)));
    epochChart("Finetune loss per epoch", "loss", metrics.finetuneLoss(), LegendPosition.InsideNE)
        .ifPresent(c -> charts.add(new NamedChart("finetune_loss.png", c.getTitle(), c)));
    epochChart("Finetune accuracy per epoch", "accuracy", metrics.finetuneAccuracy(), LegendPosition.InsideSE)
        .ifPresent(c -> charts.add(new NamedChart("finetune_accuracy.png", c.getTitle(), c)));
    confusion().ifPresent(c -> charts.add(new NamedChart("confusion.png", c.getTitle(), c)));
    return charts;
  }

  /** What drawing leaves out (loss points a log axis cannot show), one sentence each. */
  public List<String> warnings() {
    if (!logX) {
      return List.of();
    }
    Series train = metrics.trainLoss();
    Series val = metrics.valLoss();
    int dropped = train.size() - train.withPositiveX().size() + val.size() - val.withPositiveX().size();
    return dropped == 0 ? List.of()
        : List.of("loss chart: " + dropped + " points at " + metrics.lossX() + " ≤ 0 left out (log x axis)");
  }

  /** Train loss as a line and val loss as markers, over tokens seen (or steps when no line has tokens_seen). */
  public Optional<XYChart> loss() {
    Series train = metrics.trainLoss();
    Series val = metrics.valLoss();
    if (logX) {
      train = train.withPositiveX();
      val = val.withPositiveX();
    }
    if (train.isEmpty() && val.isEmpty()) {
      return Optional.empty();
    }
    String xTitle = (metrics.lossByTokens() ? "tokens seen" : "step") + (logX ? " (log scale)" : "");
    XYChart chart = xyChart("Loss", xTitle, "loss (nats / token)");
    chart.getStyler().setXAxisLogarithmic(logX);
    if (!logX) {
      // XChart takes a formatting function over its log axis and then spaces the ticks linearly: only for linear
      chart.getStyler().setxAxisTickLabelsFormattingFunction(ReportCharts::compact);
    }
    if (!train.isEmpty()) {
      XYSeries s = chart.addSeries("train", train.x(), train.y());
      styleLine(s, 0);
    }
    if (!val.isEmpty()) {
      XYSeries s = chart.addSeries("val", val.x(), val.y());
      s.setXYSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
      s.setMarker(SeriesMarkers.CIRCLE).setMarkerColor(COLORS[1]);
    }
    useRoundTicks(chart);
    return Optional.of(chart);
  }

  /** Compute, broadcast and averaging ms per round, stacked (each band drawn over the sum below it). */
  public Optional<XYChart> roundTimings() {
    List<Series> parts = metrics.roundTimings();
    if (parts.isEmpty()) {
      return Optional.empty();
    }
    XYChart chart = xyChart("Time per distributed round (stacked)", "round", "ms");
    chart.getStyler().setYAxisMin(0.0).setLegendPosition(LegendPosition.OutsideS);
    double[] x = parts.get(0).x();
    double[][] cumulative = new double[parts.size()][x.length];
    for (int p = 0; p < parts.size(); p++) {
      for (int i = 0; i < x.length; i++) {
        cumulative[p][i] = parts.get(p).y()[i] + (p == 0 ? 0 : cumulative[p - 1][i]);
      }
    }
    // XChart fills each area down to the axis and paints later series on top, so the tallest band goes first
    for (int p = parts.size() - 1; p >= 0; p--) {
      XYSeries s = chart.addSeries(parts.get(p).name().replace("_ms", ""), x, cumulative[p]);
      s.setXYSeriesRenderStyle(XYSeriesRenderStyle.Area);
      s.setMarker(x.length <= 30 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
      s.setLineColor(COLORS[p].darker());
      s.setMarkerColor(COLORS[p].darker());
      s.setFillColor(COLORS[p]);
    }
    useRoundTicks(chart);
    return Optional.of(chart);
  }

  /** Accuracy per eval task over checkpoint steps, with ± one standard error where every point has one. */
  public Optional<XYChart> evalAccuracy() {
    Map<String, Series> tasks = metrics.evalAccuracy();
    if (tasks.isEmpty()) {
      return Optional.empty();
    }
    XYChart chart = xyChart("Eval accuracy per checkpoint", "checkpoint step", "accuracy");
    chart.getStyler().setLegendPosition(LegendPosition.InsideSE);
    chart.getStyler().setErrorBarsColorSeriesColor(true);
    int color = 0;
    for (Series task : tasks.values()) {
      double[] stderr = metrics.evalAccuracyStderr(task.name());
      XYSeries s = stderr == null ? chart.addSeries(task.name(), task.x(), task.y())
          : chart.addSeries(task.name(), task.x(), task.y(), stderr);
      styleLine(s, color++);
      s.setMarker(SeriesMarkers.CIRCLE);
    }
    useRoundTicks(chart);
    return Optional.of(chart);
  }

  /**
   * Perplexity (left axis, solid) and bits per byte (right axis, dashed) of each data source over checkpoint steps,
   * one colour per source.
   */
  public Optional<XYChart> evalPerplexity() {
    Map<String, Series> perplexity = metrics.evalPerplexity();
    if (perplexity.isEmpty()) {
      return Optional.empty();
    }
    Map<String, Series> bitsPerByte = metrics.evalBitsPerByte();
    Map<String, String> labels = RunMetrics.dataLabels(perplexity.keySet());
    XYChart chart = xyChart("Eval perplexity per checkpoint", "checkpoint step", "perplexity");
    chart.setYAxisGroupTitle(1, "bits per byte");
    chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
    chart.getStyler().setLegendPosition(LegendPosition.InsideNE);
    int color = 0;
    for (Series s : perplexity.values()) {
      XYSeries line = chart.addSeries(labels.get(s.name()) + " perplexity", s.x(), s.y());
      styleLine(line, color);
      line.setMarker(SeriesMarkers.CIRCLE);
      Series bits = bitsPerByte.get(s.name());
      if (bits != null) {
        XYSeries dashed = chart.addSeries(labels.get(s.name()) + " bits/byte", bits.x(), bits.y());
        styleLine(dashed, color);
        dashed.setYAxisGroup(1);
        dashed.setMarker(SeriesMarkers.SQUARE);
        dashed.setLineStyle(SeriesLines.DASH_DASH);
      }
      color++;
    }
    useRoundTicks(chart);
    return Optional.of(chart);
  }

  /** The confusion matrix as an annotated heat map: true label down the y axis (first label on top). */
  public Optional<HeatMapChart> confusion() {
    if (metrics.confusion().isEmpty()) {
      return Optional.empty();
    }
    ConfusionMatrix m = metrics.confusion().get();
    int k = m.labels().size();
    HeatMapChart chart = new HeatMapChartBuilder().width(WIDTH).height(HEIGHT)
        .title(String.format(Locale.ROOT, "Confusion matrix (%,d examples)", m.total()))
        .xAxisTitle("predicted label").yAxisTitle("true label").build();
    List<String> yLabels = new ArrayList<>(m.labels());
    Collections.reverse(yLabels); // XChart's y categories run bottom-up
    List<Number[]> cells = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < k; j++) {
        cells.add(new Number[] {j, k - 1 - i, m.counts()[i][j]});
      }
    }
    chart.addSeries("count", m.labels(), yLabels, cells);
    chart.getStyler().setShowValue(true).setValueFont(new Font(Font.SANS_SERIF, Font.BOLD, 18))
        .setValueFontColor(Color.BLACK).setHeatMapValueDecimalPattern("#,##0").setDrawBorder(true)
        .setRangeColors(new Color[] {new Color(0xf7fbff), new Color(0x9ecae1), new Color(0x4292c6)})
        .setMin(0).setMax(Math.max(1, maxCount(m)));
    chart.getStyler().setChartBackgroundColor(Color.WHITE).setLegendVisible(true)
        .setChartTitleFont(TITLE_FONT);
    chart.getStyler().setAxisTitleFont(AXIS_TITLE_FONT).setAxisTickLabelsFont(TICK_FONT);
    return Optional.of(chart);
  }

  private static long maxCount(ConfusionMatrix m) {
    long max = 0;
    for (long[] row : m.counts()) {
      for (long c : row) {
        max = Math.max(max, c);
      }
    }
    return max;
  }

  private Optional<XYChart> epochChart(String title, String yTitle, List<Series> series, LegendPosition legend) {
    if (series.isEmpty()) {
      return Optional.empty();
    }
    XYChart chart = xyChart(title, "epoch", yTitle);
    chart.getStyler().setLegendPosition(legend);
    int color = 0;
    for (Series s : series) {
      XYSeries added = chart.addSeries(s.name().replace("_acc", "").replace("_loss", ""), s.x(), s.y());
      styleLine(added, color++);
      added.setMarker(SeriesMarkers.CIRCLE);
    }
    useRoundTicks(chart);
    return Optional.of(chart);
  }

  /** A one-series line chart over steps; the title says what it is, so no legend. */
  private Optional<NamedChart> line(String file, String title, String yTitle, Series series,
      Function<Double, String> yLabels) {
    if (series.isEmpty()) {
      return Optional.empty();
    }
    double[] y = series.y();
    double largest = Arrays.stream(y).map(Math::abs).max().orElse(0);
    if (largest > 0 && largest < 1e-2) {
      // XChart takes y values less than 1e-4 apart as equally spaced and then labels ticks with raw data values
      // (for learning rates: a pile of 17-digit labels); in units of 10^e the values are ordinary numbers
      int exponent = (int) Math.floor(Math.log10(largest));
      double unit = Math.pow(10, exponent);
      y = Arrays.stream(y).map(v -> v / unit).toArray();
      yTitle = yTitle + " (× 1e" + exponent + ")";
    }
    XYChart chart = xyChart(title, "step", yTitle);
    chart.getStyler().setLegendVisible(false);
    if (yLabels != null) {
      chart.getStyler().setyAxisTickLabelsFormattingFunction(yLabels);
    }
    XYSeries s = chart.addSeries(series.name(), series.x(), y);
    styleLine(s, 0);
    if (series.size() <= 30) {
      s.setMarker(SeriesMarkers.CIRCLE);
    }
    useRoundTicks(chart);
    return Optional.of(new NamedChart(file, title, chart));
  }

  /**
   * XChart puts x ticks on data points whenever the x values are equally spaced, as steps and rounds are: with
   * hundreds of points that gives ticks at 10, 130, 250... A disabled (never drawn, not in the legend) one-point
   * series between the first two x values breaks the spacing, so XChart picks round tick values instead. Up to
   * {@code MAX_DATA_TICKS} x values the ticks stay on the data (checkpoint steps, epochs).
   */
  private static void useRoundTicks(XYChart chart) {
    java.util.TreeSet<Double> xs = new java.util.TreeSet<>();
    chart.getSeriesMap().values().forEach(s -> {
      for (double x : s.getXData()) {
        xs.add(x);
      }
    });
    if (xs.size() <= MAX_DATA_TICKS) {
      return;
    }
    double first = xs.first();
    double between = chart.getStyler().isXAxisLogarithmic() ? Math.sqrt(first * xs.higher(first))
        : (first + xs.higher(first)) / 2;
    XYSeries any = chart.getSeriesMap().values().iterator().next();
    XYSeries spacer = chart.addSeries(" spacer", new double[] {between}, new double[] {any.getYData()[0]});
    spacer.setEnabled(false);
    spacer.setShowInLegend(false);
  }

  private static XYChart xyChart(String title, String xTitle, String yTitle) {
    XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle)
        .yAxisTitle(yTitle).build();
    AxesChartStyler styler = chart.getStyler();
    styler.setChartBackgroundColor(Color.WHITE).setPlotBackgroundColor(Color.WHITE)
        .setPlotBorderColor(Color.GRAY).setLegendPosition(LegendPosition.InsideNE)
        .setChartTitleFont(TITLE_FONT)
        .setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13))
        .setLegendBorderColor(Color.LIGHT_GRAY);
    styler.setPlotGridLinesColor(new Color(0xe0e0e0))
        .setPlotGridLinesStroke(new BasicStroke(1f))
        .setAxisTitleFont(AXIS_TITLE_FONT)
        .setAxisTickLabelsFont(TICK_FONT);
    chart.getStyler().setMarkerSize(7);
    return chart;
  }

  private static void styleLine(XYSeries s, int color) {
    s.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
    s.setMarker(SeriesMarkers.NONE);
    s.setLineColor(COLORS[color % COLORS.length]);
    s.setMarkerColor(COLORS[color % COLORS.length]);
    s.setLineWidth(2f);
  }

  /** 0, 950, 1.5k, 2M, 1.25B: tick labels short enough for token counts. */
  static String compact(double v) {
    double a = Math.abs(v);
    if (a >= 1e12) {
      return trim(v / 1e12) + "T";
    }
    if (a >= 1e9) {
      return trim(v / 1e9) + "B";
    }
    if (a >= 1e6) {
      return trim(v / 1e6) + "M";
    }
    if (a >= 1e3) {
      return trim(v / 1e3) + "k";
    }
    return trim(v);
  }

  private static String trim(double v) {
    String s = String.format(Locale.ROOT, "%.2f", v);
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  private static String percent(double v) {
    return trim(100 * v) + "%";
  }
}
