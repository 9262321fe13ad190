package dev.sparkgpt.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunMetricsTest {
  private static Series series(String name, double[] x, double[] y) {
    return new Series(name, x, y);
  }

  @Test
  void extractsEachTrainingSeriesWithExactValues(@TempDir Path tmp) throws IOException {
    RunMetrics m = RunMetrics.load(RunFixtures.fullRun(tmp));
    double[] tokens = {51200, 102400, 153600, 204800};
    double[] steps = {100, 200, 300, 400};
    assertTrue(m.lossByTokens());
    assertEquals(series("train_loss", tokens, new double[] {4.5, 3.0, 2.8, 2.5}), m.trainLoss());
    assertEquals(series("val_loss", new double[] {102400, 204800}, new double[] {2.345, 2.6}), m.valLoss(),
        "the separate eval line of step 400 lands on step 400's tokens");
    assertEquals(series("lr", steps, new double[] {3e-4, 6e-4, 4e-4, 2e-4}), m.learningRate());
    assertEquals(series("grad_norm", steps, new double[] {1.5, 1.0, 0.8, 0.6}), m.gradNorm());
    assertEquals(series("tokens_per_sec", steps, new double[] {1000, 2000, 3000, 4000}), m.tokensPerSec());
    assertEquals(series("mfu", steps, new double[] {0.1, 0.2, 0.3, 0.4}), m.mfu());
    double[] rounds = {1, 2, 3, 4};
    assertEquals(List.of(series("compute_ms", rounds, new double[] {100, 110, 120, 130}),
        series("broadcast_ms", rounds, new double[] {5, 6, 7, 8}),
        series("averaging_ms", rounds, new double[] {10, 12, 14, 16})), m.roundTimings());
  }

  @Test
  void extractsFinetuneEvalAndConfusionData(@TempDir Path tmp) throws IOException {
    RunMetrics m = RunMetrics.load(RunFixtures.fullRun(tmp));
    double[] epochs = {1, 2, 3};
    assertEquals(List.of(series("train_acc", epochs, new double[] {0.6, 0.8, 0.9}),
        series("val_acc", epochs, new double[] {0.55, 0.85, 0.8}),
        series("test_acc", new double[] {3}, new double[] {0.825})), m.finetuneAccuracy());
    assertEquals(List.of(series("train_loss", epochs, new double[] {0.9, 0.5, 0.3}),
        series("val_loss", epochs, new double[] {0.8, 0.45, 0.5})), m.finetuneLoss());
    assertEquals(3, m.epochs().size(), "epoch lines do not leak into the step table");
    assertEquals(4, m.steps().size());

    Map<String, Series> eval = m.evalAccuracy();
    assertEquals(List.of("hellaswag", "arc_easy"), List.copyOf(eval.keySet()));
    assertEquals(series("hellaswag", new double[] {200, 300, 400}, new double[] {0.25, 0.33, 0.3125}),
        eval.get("hellaswag"), "report.json (step 300) sits between eval/ files; step-000400 comes from the id");
    assertEquals(series("arc_easy", new double[] {200, 400}, new double[] {0.4, 0.46}), eval.get("arc_easy"));
    assertArrayEquals(new double[] {0.0435, 0.047, 0.0466}, m.evalAccuracyStderr("hellaswag"));
    EvalPoint first = m.evalPoints().get(0);
    assertEquals(new EvalPoint("hellaswag", 200L, "eval/step-000200.json", 100L, 0.25, 0.27, 0.0435), first);

    ConfusionMatrix c = m.confusion().orElseThrow();
    assertEquals(List.of("ham", "spam"), c.labels());
    assertArrayEquals(new long[] {5, 95}, c.counts()[1]);
    assertEquals(200, c.total());
    assertEquals(185, c.correct());
    assertEquals(List.of(), m.warnings());
  }

  @Test
  void extractsPerplexityAndBitsPerBytePerCheckpoint(@TempDir Path tmp) throws IOException {
    RunMetrics m = RunMetrics.load(RunFixtures.fullRun(tmp));
    assertEquals(Map.of("runs/x/shards", series("runs/x/shards", new double[] {200, 300, 400},
        new double[] {40.5, 35.0, 30.25}), "data/extra.txt", series("data/extra.txt", new double[] {400},
        new double[] {55.0})), m.evalPerplexity(), "report.json (step 300) sits between the eval/ files");
    assertEquals(List.of("runs/x/shards", "data/extra.txt"), List.copyOf(m.evalPerplexity().keySet()));
    assertEquals(Map.of("runs/x/shards", series("runs/x/shards", new double[] {200, 300, 400},
        new double[] {1.625, 1.55, 1.5})), m.evalBitsPerByte(), "extra.txt has no bits_per_byte");
    assertEquals(new PerplexityPoint("data/extra.txt", 400L, "eval/step-000400.json", 100L, 55.0, null),
        m.perplexityPoints().get(2));
    assertEquals(Map.of("runs/x/shards", "shards", "data/extra.txt", "extra.txt"),
        RunMetrics.dataLabels(m.evalPerplexity().keySet()));
    assertEquals(Map.of("a/shards", "a/shards", "b/shards/", "b/shards/", "c.txt", "c.txt"),
        RunMetrics.dataLabels(List.of("a/shards", "b/shards/", "c.txt")), "a shared last element keeps the path");
  }

  @Test
  void mergesLinesOfOneStepAndCountsEvents(@TempDir Path tmp) throws IOException {
    RunMetrics m = RunMetrics.load(RunFixtures.fullRun(tmp));
    Map<String, Double> step400 = m.steps().rows().get(3);
    assertEquals(2.6, step400.get("val_loss"));
    assertEquals(2.5, step400.get("train_loss"), "the eval line adds val_loss without dropping train_loss");
    assertFalse(step400.containsKey("note"), "unknown keys are ignored");
    assertEquals(Map.of("checkpoint", 1, "eval", 1), m.lines().events());
    assertEquals(9, m.lines().lines(), "blank lines are not counted");
    assertEquals(0, m.lines().skipped());
  }

  @Test
  void lossFallsBackToStepsWhenNoLineHasTokensSeen(@TempDir Path tmp) throws IOException {
    RunMetrics m = RunMetrics.load(RunFixtures.metricsOnly(tmp, List.of(
        "{\"step\":10,\"train_loss\":5.0}", "{\"step\":20,\"train_loss\":4.0,\"val_loss\":4.25}")));
    assertFalse(m.lossByTokens());
    assertEquals(series("train_loss", new double[] {10, 20}, new double[] {5.0, 4.0}), m.trainLoss());
    assertEquals(series("val_loss", new double[] {20}, new double[] {4.25}), m.valLoss());
    assertTrue(m.roundTimings().isEmpty());
    assertTrue(m.evalAccuracy().isEmpty());
    assertTrue(m.confusion().isEmpty());
  }

  @Test
  void skipsAndCountsAnUnfinishedLastLine(@TempDir Path tmp) throws IOException {
    Path dir = RunFixtures.metricsOnly(tmp, List.of("{\"step\":10,\"train_loss\":5.0}", "",
        "{\"step\":20,\"train_loss\":4.0}"));
    Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\":30,\"train_loss\":3.", java.nio.file.StandardOpenOption.APPEND);
    RunMetrics m = RunMetrics.load(dir);
    assertEquals(4, m.lines().skipped(), "line number of the partial line");
    assertEquals(3, m.lines().lines(), "non-blank lines, the skipped one included");
    assertEquals(series("train_loss", new double[] {10, 20}, new double[] {5.0, 4.0}), m.trainLoss());
    assertEquals(List.of("metrics.jsonl:4: unfinished last line skipped (a run that stopped mid-write)"),
        m.warnings());
  }

  @Test
  void aMalformedLineBeforeTheLastFailsNamingFileAndLine(@TempDir Path tmp) throws IOException {
    Path dir = RunFixtures.metricsOnly(tmp, List.of("{\"step\":10,\"train_loss\":5.0}",
        "{\"step\":20,\"train_loss\":4.0", "", "{\"step\":30,\"train_loss\":3.0}"));
    var e = assertThrows(InputException.class, () -> RunMetrics.load(dir));
    assertTrue(e.getMessage().startsWith(dir.resolve("metrics.jsonl") + ":2: malformed JSON ("), e.getMessage());
    assertTrue(e.getMessage().endsWith("Fix: repair or delete line 2; only an unfinished last line is skipped"),
        e.getMessage());
  }

  @Test
  void aKnownKeyHoldingTextFailsWithTheValue(@TempDir Path tmp) throws IOException {
    Path dir = RunFixtures.metricsOnly(tmp, List.of("{\"step\":10,\"train_loss\":\"low\"}"));
    var e = assertThrows(InputException.class, () -> RunMetrics.load(dir));
    assertTrue(e.getMessage().contains("metrics.jsonl:1: \"train_loss\" is \"low\", expected a number"),
        e.getMessage());
    Path fractional = RunFixtures.metricsOnly(tmp.resolve("b"), List.of("{\"step\":2.5}"));
    var f = assertThrows(InputException.class, () -> RunMetrics.load(fractional));
    assertTrue(f.getMessage().contains("metrics.jsonl:1: \"step\" is 2.5, expected a whole number"), f.getMessage());
    Path array = RunFixtures.metricsOnly(tmp.resolve("c"), List.of("[1, 2]", "{\"step\":1}"));
    var a = assertThrows(InputException.class, () -> RunMetrics.load(array));
    assertTrue(a.getMessage().contains("metrics.jsonl:1: expected a JSON object, found array"), a.getMessage());
  }

  @Test
  void leavesOutNanAndInfinityQuotedOrBareAndCountsThem(@TempDir Path tmp) throws IOException {
    RunMetrics m = RunMetrics.load(RunFixtures.metricsOnly(tmp, List.of(
        "{\"step\":1,\"train_loss\":NaN,\"mfu\":\"Infinity\",\"lr\":null}", "{\"step\":2,\"train_loss\":3.5}")));
    assertEquals(series("train_loss", new double[] {2}, new double[] {3.5}), m.trainLoss());
    assertTrue(m.mfu().isEmpty());
    assertEquals(2, m.lines().nonFinite(), "null is just absent, not counted");
    assertEquals(List.of("metrics.jsonl: 2 NaN or infinite values left out"), m.warnings());
  }

  @Test
  void aMissingRunDirectoryIsNamed(@TempDir Path tmp) {
    Path missing = tmp.resolve("runs/nope");
    var e = assertThrows(InputException.class, () -> RunMetrics.load(missing));
    assertEquals(missing + ": no such run directory. Fix: give the out_dir of a pretrain or finetune run (it holds "
        + "metrics.jsonl)", e.getMessage());
  }

  @Test
  void aDirectoryWithNothingToPlotFailsSayingWhatWasLookedFor(@TempDir Path tmp) throws IOException {
    var e = assertThrows(InputException.class, () -> RunMetrics.load(tmp));
    assertTrue(e.getMessage().startsWith(tmp + ": nothing to report: no metrics.jsonl, eval/*.json, report.json or "
        + "confusion.json."), e.getMessage());
    Path keyless = RunFixtures.metricsOnly(tmp, List.of("{\"event\":\"resume\"}", "{\"loss\":1.0}"));
    var k = assertThrows(InputException.class, () -> RunMetrics.load(keyless));
    assertTrue(k.getMessage().contains("metrics.jsonl has 2 lines but none with a step or an epoch"), k.getMessage());
  }

  @Test
  void badSideFilesFailNamingTheFile(@TempDir Path tmp) throws IOException {
    Path dir = RunFixtures.metricsOnly(tmp, List.of("{\"step\":1,\"train_loss\":2.0}"));
    Files.writeString(dir.resolve("confusion.json"), "{\"labels\": [\"a\", \"b\"], \"matrix\": [[1, 2], [3]]}");
    var e = assertThrows(InputException.class, () -> RunMetrics.load(dir));
    assertTrue(e.getMessage().startsWith(dir.resolve("confusion.json") + ": matrix row 1 (true label \"b\") must "
        + "have 2 counts, found 1."), e.getMessage());
    Files.delete(dir.resolve("confusion.json"));
    Files.createDirectories(dir.resolve("eval"));
    Files.writeString(dir.resolve("eval/config.json"), "{\"seed\": 1}");
    var r = assertThrows(InputException.class, () -> RunMetrics.load(dir));
    assertTrue(r.getMessage().startsWith(dir.resolve("eval/config.json") + ": no \"tasks\" object"), r.getMessage());
  }

  @Test
  void anEvalReportWithoutAStepIsSummarisedButNotPlotted(@TempDir Path tmp) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("run"));
    Files.writeString(dir.resolve("report.json"), "{\"tasks\": {\"lambada\": {\"n\": 8, \"acc\": 0.5}}, "
        + "\"checkpoint\": {\"path\": \"hf/gpt2\"}}");
    RunMetrics m = RunMetrics.load(dir);
    assertTrue(m.evalAccuracy().isEmpty());
    assertEquals(new EvalPoint("lambada", null, "report.json", 8L, 0.5, null, null), m.evalPoints().get(0));
    assertNull(m.evalAccuracyStderr("lambada"));
    assertEquals(List.of("report.json: no checkpoint step; its accuracies are left out of the eval chart"),
        m.warnings());
    assertEquals("0.5000 (report.json), n=8", Summary.of(m).value("eval acc lambada").orElseThrow());
  }

  @Test
  void parsesInMemoryLinesTheSameWay() {
    List<String> lines = new ArrayList<>(RunFixtures.FINETUNE_METRICS);
    MetricsLines parsed = MetricsLines.parse("mem.jsonl", lines);
    assertEquals(3, parsed.epochs().size());
    assertTrue(parsed.steps().isEmpty());
    assertEquals(0.85, parsed.epochs().maxBy("val_acc").orElseThrow().get("val_acc"));
  }
}
