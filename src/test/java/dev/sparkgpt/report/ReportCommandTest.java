package dev.sparkgpt.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.jobs.Jobs;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ReportCommandTest {
  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  private static final List<String> ALL_CHARTS = List.of("loss.png", "lr.png", "grad_norm.png",
      "tokens_per_sec.png", "mfu.png", "round_timings.png", "eval_accuracy.png", "eval_perplexity.png",
      "finetune_loss.png",
      "finetune_accuracy.png", "confusion.png");

  /** Runs {@code sparkgpt report ARGS} with SparkGPT's error handling; returns {exit code, stdout, stderr}. */
  static String[] run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Jobs.commandLine(new ReportCommand());
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new String[] {String.valueOf(code), out.toString(), err.toString()};
  }

  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  private static List<String> imageSources(String html) {
    Matcher m = Pattern.compile("<img src=\"([^\"]+)\"").matcher(html);
    List<String> sources = new ArrayList<>();
    while (m.find()) {
      sources.add(m.group(1));
    }
    return sources;
  }

  @Test
  void writesValidPngsAndAPageThatShowsExactlyThem(@TempDir Path tmp) throws IOException {
    Path runDir = RunFixtures.fullRun(tmp);
    String[] r = run(runDir.toString());
    assertEquals("0", r[0], r[2]);
    Path report = runDir.resolve("report");
    List<String> expected = new ArrayList<>(ALL_CHARTS);
    expected.add("report.html");
    assertEquals(expected.stream().sorted().toList(), listing(report));
    for (String png : ALL_CHARTS) {
      byte[] bytes = Files.readAllBytes(report.resolve(png));
      assertArrayEquals(PNG_MAGIC, Arrays.copyOf(bytes, 8), png);
      BufferedImage image = ImageIO.read(new ByteArrayInputStream(bytes));
      assertNotNull(image, png + " decodes");
      assertEquals(ReportCharts.WIDTH, image.getWidth(), png);
      assertEquals(ReportCharts.HEIGHT, image.getHeight(), png);
    }
    String html = Files.readString(report.resolve("report.html"));
    assertEquals(ALL_CHARTS, imageSources(html), "every chart once, in report order, by relative path");
    assertTrue(html.contains("<tr><th>best val loss</th><td>2.3450 (step 200)</td></tr>"), html);
    assertTrue(html.contains("<tr><th>mean tokens/s</th><td>2,500</td></tr>"), html);
    assertTrue(html.contains("<tr><th>final test acc</th><td>0.8250 (epoch 3)</td></tr>"), html);
    assertTrue(html.contains("<code>" + runDir + "</code>"));
    assertFalse(html.contains("http://") || html.contains("https://") || html.contains("<script"),
        "self-contained: nothing fetched, nothing run");
    assertTrue(r[2].isEmpty(), "no warnings: " + r[2]);
  }

  @Test
  void consoleSummaryPrintsTheSameNumbersAsThePage(@TempDir Path tmp) throws IOException {
    Path runDir = RunFixtures.fullRun(tmp);
    String[] r = run(runDir.toString());
    Summary summary = Summary.of(RunMetrics.load(runDir));
    String html = Files.readString(runDir.resolve("report/report.html"));
    assertTrue(r[1].startsWith("report: " + runDir + " -> " + runDir.resolve("report/report.html")
        + " (11 charts)\n"), r[1]);
    assertTrue(r[1].contains("  best val loss" + " ".repeat(14) + "2.3450 (step 200)\n"), r[1]);
    for (Summary.Row row : summary.rows()) {
      assertTrue(r[1].contains(row.label() + " ") && r[1].contains(" " + row.value() + "\n"), row.toString());
      assertTrue(html.contains("<tr><th>" + row.label() + "</th><td>" + ReportPage.escape(row.value())
          + "</td></tr>"), row.toString());
    }
    assertEquals(summary.rows().size(), html.split("<tr>", -1).length - 1, "no other table rows");
  }

  @Test
  void outOptionWritesElsewhereAndARerunReplacesTheOldReport(@TempDir Path tmp) throws IOException {
    Path runDir = RunFixtures.metricsOnly(tmp, List.of("{\"step\":1,\"train_loss\":3.0,\"lr\":0.001}",
        "{\"step\":2,\"train_loss\":2.0,\"lr\":0.002}"));
    Path out = tmp.resolve("reports/first");
    assertEquals("0", run(runDir.toString(), "--out", out.toString(), "--log-x")[0]);
    assertEquals(List.of("loss.png", "lr.png", "report.html"), listing(out));
    assertFalse(Files.exists(runDir.resolve("report")));

    RunFixtures.writeLines(runDir.resolve("metrics.jsonl"), List.of("{\"step\":1,\"train_loss\":3.0}"));
    assertEquals("0", run(runDir.toString(), "--out", out.toString())[0]);
    assertEquals(List.of("loss.png", "report.html"), listing(out), "lr.png of the old report is gone");
    assertEquals(List.of("first"), listing(out.getParent()), "no temporary or old directory left");
  }

  @Test
  void aTruncatedLastLineIsReportedAsAWarning(@TempDir Path tmp) throws IOException {
    Path runDir = RunFixtures.metricsOnly(tmp, List.of("{\"step\":1,\"train_loss\":3.0}"));
    Files.writeString(runDir.resolve("metrics.jsonl"), "{\"step\":2,\"tra", java.nio.file.StandardOpenOption.APPEND);
    String[] r = run(runDir.toString());
    assertEquals("0", r[0], r[2]);
    assertEquals("warning: metrics.jsonl:2: unfinished last line skipped (a run that stopped mid-write)\n",
        r[2].replace("\r\n", "\n"));
    assertTrue(r[1].contains("  metrics lines     2 (unfinished last line 2 skipped)\n"), r[1]);
    String html = Files.readString(runDir.resolve("report/report.html"));
    assertTrue(html.contains("<li>metrics.jsonl:2: unfinished last line skipped (a run that stopped mid-write)</li>"));
  }

  @Test
  void aMalformedMiddleLineFailsWithItsNumberAndWritesNothing(@TempDir Path tmp) throws IOException {
    Path runDir = RunFixtures.metricsOnly(tmp, List.of("{\"step\":1,\"train_loss\":3.0}", "{oops}",
        "{\"step\":3,\"train_loss\":2.0}"));
    String[] r = run(runDir.toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("error: " + runDir.resolve("metrics.jsonl") + ":2: malformed JSON"), r[2]);
    assertEquals(List.of("metrics.jsonl"), listing(runDir), "no report directory, no temporary directory");
  }

  @Test
  void aMissingRunDirectoryIsNamedInTheError(@TempDir Path tmp) {
    Path missing = tmp.resolve("runs/typo");
    String[] r = run(missing.toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("error: " + missing + ": no such run directory."), r[2]);
    assertFalse(Files.exists(missing));
  }

  @Test
  void refusesToReplaceADirectoryThatIsNotAReport(@TempDir Path tmp) throws IOException {
    Path runDir = RunFixtures.fullRun(tmp);
    List<String> before = listing(runDir);
    String[] r = run(runDir.toString(), "--out", runDir.toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("error: " + runDir + ": exists and holds "), r[2]);
    assertTrue(r[2].contains("so it is not a report directory; nothing was written"), r[2]);
    assertEquals(before, listing(runDir), "the run directory is untouched");
    assertEquals(List.of("run"), listing(tmp));
  }
}
