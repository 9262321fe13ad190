package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.PythonProcess;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.io.JsonFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quick demo end to end: every stage's output exists, is complete and agrees with the others; the samples are
 * written and printed; the printed paths exist; notebooks/metrics.ipynb runs on the run (when pandas is here).
 */
class DemoTest extends SparkTestBase {
  @TempDir
  static Path dir;
  private static dev.sparkgpt.jobs.PipelineJob.Outputs out;
  private static String console;

  @BeforeAll
  static void runQuickDemo() {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    out = DemoCommand.run(spark, dir, true, 0, new PrintStream(printed, true, StandardCharsets.UTF_8));
    console = printed.toString(StandardCharsets.UTF_8);
  }

  @Test
  void quickDemoProducesConsistentOutputs() throws Exception {

    Manifest m = out.shards();
    assertTrue(Files.exists(dir.resolve("shards/_SUCCESS")));
    assertEquals(m.totalTokens(), m.splits().get("train").tokens() + m.splits().get("val").tokens());
    for (Manifest.SplitInfo split : m.splits().values()) {
      assertEquals(split.rows(), split.shards().stream().mapToLong(Manifest.ShardFile::rows).sum());
      for (Manifest.ShardFile f : split.shards()) {
        assertEquals(f.bytes(), Files.size(dir.resolve("shards").resolve(f.path())));
      }
    }

    assertEquals(30, out.training().step());
    List<String> lines = Files.readAllLines(dir.resolve("pretrain/metrics.jsonl"));
    long previousStep = 0;
    long previousTokens = 0;
    for (String line : lines) {
      JsonNode l = JsonFiles.MAPPER.readTree(line);
      assertTrue(l.get("step").asLong() > previousStep && l.get("tokens_seen").asLong() > previousTokens, line);
      previousStep = l.get("step").asLong();
      previousTokens = l.get("tokens_seen").asLong();
    }
    assertEquals(30, previousStep);
    assertEquals(out.training().tokensSeen(), previousTokens);
    assertEquals("step-000030", Files.readString(dir.resolve("pretrain/latest")).trim());
    assertTrue(Files.exists(dir.resolve("pretrain/step-000030").resolve(CheckpointStore.WEIGHTS)));

    JsonNode report = JsonFiles.MAPPER.readTree(Files.readString(dir.resolve("pretrain/eval/report.json")));
    assertEquals(20, report.at("/tasks/copa/n").asInt());
    JsonNode ppl = report.path("perplexity").elements().next();
    assertTrue(ppl.path("tokens").asLong() > 0);
    assertEquals(Math.exp(ppl.path("mean_nll").asDouble()), ppl.path("perplexity").asDouble(), 1e-6);
    assertEquals(out.report().tasks().keySet(), java.util.Set.of("copa"));
    String html = Files.readString(dir.resolve("pretrain/report/report.html"));
    assertTrue(html.contains("loss.png") && Files.size(dir.resolve("pretrain/report/loss.png")) > 1000, html);
    assertTrue(html.contains("eval_perplexity.png") && html.contains("eval perplexity shards"), html);
  }

  @Test
  void samplesOfTheFinalCheckpointAreWrittenAndPrinted() throws Exception {
    String samples = Files.readString(dir.resolve("samples.txt"), StandardCharsets.UTF_8);
    // one block per prompt: "--- PROMPT (N tokens, REASON)", then the prompt and its continuation
    String[] blocks = samples.split("(?m)^(?=--- )");
    assertEquals(DemoCommand.SAMPLE_PROMPTS.size(), blocks.length, samples);
    for (int i = 0; i < blocks.length; i++) {
      String prompt = DemoCommand.SAMPLE_PROMPTS.get(i);
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("--- " + java.util.regex.Pattern.quote(prompt)
          + " \\((\\d+) tokens, (max_new_tokens|eot)\\)\n" + java.util.regex.Pattern.quote(prompt)
          + "(.*)\n", java.util.regex.Pattern.DOTALL).matcher(blocks[i]);
      assertTrue(m.matches(), blocks[i]);
      int tokens = Integer.parseInt(m.group(1));
      assertTrue(tokens == 20 || m.group(2).equals("eot") && tokens < 20, blocks[i]);
      assertTrue(tokens == 0 || !m.group(3).isEmpty(), "the prompt was continued (a 30-step model may continue "
          + "with newlines): " + blocks[i]);
    }
    assertTrue(console.contains(samples), "the samples are printed: " + console);
  }

  @Test
  void theShareOfCorpusWordsCountsSampledWordsOnly(@TempDir Path tmp) throws Exception {
    Path corpus = tmp.resolve("corpus.txt");
    Files.writeString(corpus, "ROMEO:\nThe king's horse, my Lord.\n");
    String samples = "--- ROMEO: (5 tokens, max_new_tokens)\nROMEO: the KING'S hoarse\nmy lord kingz\n";
    // words after the prompt: the, king's, hoarse, my, lord, kingz -> 4 of 6 in the corpus (case-insensitive)
    org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {4, 6},
        DemoCommand.corpusWords(samples, List.of(corpus.toString())));
    assertTrue(console.matches("(?s).*== \\d+ of \\d+ sampled words \\(\\d+%\\) are words of the corpus.*"),
        console);
  }

  /** Every line after "Where everything went:" names a path that exists (the "try" line: its --checkpoint). */
  @Test
  void whereEverythingWentNamesExistingPaths() {
    List<String> where = console.lines().dropWhile(l -> !l.contains("Where everything went:")).skip(1).toList();
    assertEquals(List.of("shards", "model", "samples", "eval", "report", "try"),
        where.stream().map(l -> l.trim().split("\\s+")[0]).toList(), console);
    for (String line : where) {
      String[] words = line.trim().split("\\s+");
      String path = words[0].equals("try") ? words[List.of(words).indexOf("--checkpoint") + 1] : words[1];
      assertTrue(Files.exists(Path.of(path)), line);
    }
  }

  /** notebooks/metrics.ipynb's cells against the demo's run, when Python has pandas and matplotlib. */
  @Test
  void metricsNotebookRunsOnTheDemoRun() throws Exception {
    Path run = dir.resolve("pretrain");
    Path scratch = dir.resolve("notebook");
    Files.createDirectories(scratch);
    assumeTrue(PythonProcess.imports("pandas, matplotlib", scratch),
        "no pandas/matplotlib for " + PythonProcess.python() + ": the notebook part is skipped");
    PythonProcess.Result r = PythonProcess.run(List.of(PythonProcess.python(), "notebooks/run_notebook_cells.py",
        "notebooks/metrics.ipynb", "--run-dir", run.toString(), "--plot-dir", scratch.toString()), scratch,
        java.util.Map.of());
    assertEquals(0, r.exitCode(), r.output());
    long steps = Files.readAllLines(run.resolve("metrics.jsonl")).size(); // one line per step (checked above)
    assertTrue(r.output().contains(run + ": " + steps + " steps") && r.output().contains("metrics.ipynb: 5 code "
        + "cells ran"), r.output());
    assertTrue(Files.size(scratch.resolve("loss.png")) > 1000);
  }
}
