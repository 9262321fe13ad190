package dev.sparkgpt.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;

class ReportChartsTest {
  @Test
  void everyChartIsDrawnWhenItsDataExists(@TempDir Path tmp) throws IOException {
    List<String> files = new ReportCharts(RunMetrics.load(RunFixtures.fullRun(tmp)), false).all().stream()
        .map(ReportCharts.NamedChart::fileName).toList();
    assertEquals(List.of("loss.png", "lr.png", "grad_norm.png", "tokens_per_sec.png", "mfu.png",
        "round_timings.png", "eval_accuracy.png", "eval_perplexity.png", "finetune_loss.png",
        "finetune_accuracy.png", "confusion.png"), files);
  }

  @Test
  void evalPerplexityChartHasPerplexityLeftAndBitsPerByteRight(@TempDir Path tmp) throws IOException {
    XYChart chart = new ReportCharts(RunMetrics.load(RunFixtures.fullRun(tmp)), false).evalPerplexity()
        .orElseThrow();
    assertEquals(List.of("shards perplexity", "shards bits/byte", "extra.txt perplexity"),
        List.copyOf(chart.getSeriesMap().keySet()));
    XYSeries perplexity = chart.getSeriesMap().get("shards perplexity");
    assertArrayEquals(new double[] {200, 300, 400}, perplexity.getXData());
    assertArrayEquals(new double[] {40.5, 35.0, 30.25}, perplexity.getYData());
    assertEquals(0, perplexity.getYAxisGroup());
    XYSeries bits = chart.getSeriesMap().get("shards bits/byte");
    assertArrayEquals(new double[] {1.625, 1.55, 1.5}, bits.getYData());
    assertEquals(1, bits.getYAxisGroup());
    assertEquals("bits per byte", chart.getYAxisGroupTitle(1));
    assertArrayEquals(new double[] {55.0}, chart.getSeriesMap().get("extra.txt perplexity").getYData());
  }

  @Test
  void onlyChartsWithDataAreDrawn(@TempDir Path tmp) throws IOException {
    RunMetrics m = RunMetrics.load(RunFixtures.metricsOnly(tmp, List.of("{\"step\":1,\"train_loss\":3.0,"
        + "\"lr\":0.001}", "{\"step\":2,\"train_loss\":2.0,\"lr\":0.002}")));
    assertEquals(List.of("loss.png", "lr.png"), new ReportCharts(m, false).all().stream()
        .map(ReportCharts.NamedChart::fileName).toList());
  }

  @Test
  void logXSetsTheLossAxisLogarithmicAndDropsPointsAtZero(@TempDir Path tmp) throws IOException {
    RunMetrics m = RunMetrics.load(RunFixtures.metricsOnly(tmp, List.of(
        "{\"step\":0,\"tokens_seen\":0,\"train_loss\":11.0,\"val_loss\":11.0}",
        "{\"step\":1,\"tokens_seen\":1000,\"train_loss\":6.0}", "{\"step\":2,\"tokens_seen\":2000,\"train_loss\":5.0}")));
    XYChart linear = new ReportCharts(m, false).loss().orElseThrow();
    assertFalse(linear.getStyler().isXAxisLogarithmic());
    assertArrayEquals(new double[] {0, 1000, 2000}, linear.getSeriesMap().get("train").getXData());

    ReportCharts logCharts = new ReportCharts(m, true);
    XYChart log = logCharts.loss().orElseThrow();
    assertTrue(log.getStyler().isXAxisLogarithmic());
    assertArrayEquals(new double[] {1000, 2000}, log.getSeriesMap().get("train").getXData());
    assertFalse(log.getSeriesMap().containsKey("val"), "the only val point sat at 0 tokens");
    assertEquals(List.of("loss chart: 2 points at tokens_seen ≤ 0 left out (log x axis)"), logCharts.warnings());
    assertEquals("tokens seen (log scale)", log.getXAxisTitle());
    assertEquals("tokens seen", linear.getXAxisTitle());
  }

  @Test
  void lossChartShowsValAsMarkersAndRoundTimingsStack(@TempDir Path tmp) throws IOException {
    ReportCharts charts = new ReportCharts(RunMetrics.load(RunFixtures.fullRun(tmp)), false);
    XYChart loss = charts.loss().orElseThrow();
    assertEquals(XYSeries.XYSeriesRenderStyle.Line, loss.getSeriesMap().get("train").getXYSeriesRenderStyle());
    assertEquals(XYSeries.XYSeriesRenderStyle.Scatter, loss.getSeriesMap().get("val").getXYSeriesRenderStyle());
    XYChart rounds = charts.roundTimings().orElseThrow();
    assertEquals(List.of("averaging", "broadcast", "compute"), List.copyOf(rounds.getSeriesMap().keySet()),
        "tallest band first");
    assertArrayEquals(new double[] {115, 128, 141, 154}, rounds.getSeriesMap().get("averaging").getYData(),
        "averaging sits on compute + broadcast");
    assertArrayEquals(new double[] {105, 116, 127, 138}, rounds.getSeriesMap().get("broadcast").getYData());
    assertArrayEquals(new double[] {100, 110, 120, 130}, rounds.getSeriesMap().get("compute").getYData());
  }

  @Test
  void smallValuesArePlottedInUnitsOfAPowerOfTenAndLongSeriesGetRoundTicks(@TempDir Path tmp) throws IOException {
    List<String> lines = new java.util.ArrayList<>();
    for (int step = 1; step <= 20; step++) {
      lines.add("{\"step\":" + step + ",\"lr\":" + (step * 3e-5) + "}");
    }
    List<ReportCharts.NamedChart> charts = new ReportCharts(RunMetrics.load(RunFixtures.metricsOnly(tmp, lines)),
        false).all();
    assertEquals(List.of("lr.png"), charts.stream().map(ReportCharts.NamedChart::fileName).toList());
    XYChart lr = (XYChart) charts.get(0).chart();
    assertEquals("learning rate (× 1e-4)", lr.getYAxisTitle());
    assertEquals(0.3, lr.getSeriesMap().get("lr").getYData()[0], 1e-12);
    assertEquals(6.0, lr.getSeriesMap().get("lr").getYData()[19], 1e-12);
    XYSeries spacer = lr.getSeriesMap().get(" spacer");
    assertFalse(spacer.isEnabled() || spacer.isShowInLegend(), "the tick spacer is never drawn");
    assertArrayEquals(new double[] {1.5}, spacer.getXData(), "between the first two steps");
  }

  @Test
  void tickLabelsForTokenCountsAreShort() {
    assertEquals("0", ReportCharts.compact(0));
    assertEquals("950", ReportCharts.compact(950));
    assertEquals("51.2k", ReportCharts.compact(51200));
    assertEquals("2M", ReportCharts.compact(2_000_000));
    assertEquals("1.25B", ReportCharts.compact(1.25e9));
  }
}
