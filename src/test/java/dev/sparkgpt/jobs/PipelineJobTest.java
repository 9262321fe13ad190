package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.PipelineConfig;
import dev.sparkgpt.io.JsonFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.io.FileUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** conf/pipeline/verdict.yaml made tiny: runs, re-runs nothing, re-runs from the stage whose output was removed. */
class PipelineJobTest extends SparkTestBase {
  private static final int STEPS = 6;

  /** The bundled pipeline YAML, writing into {@code dir}, with a 6-step pretrain and 4 items per task. */
  static PipelineConfig tinyPipeline(Path dir) {
    PipelineConfig c = ConfigLoader.load(PipelineConfig.class, PipelineConfig.defaults(),
        Path.of("conf/pipeline/verdict.yaml"), List.of(), Map.of("out_dir", dir.toString()), null);
    Map<String, Object> pretrain = new LinkedHashMap<>(c.pretrain().set());
    pretrain.put("train", Map.of("max_steps", STEPS, "save_interval", 3, "log_interval", 1));
    pretrain.put("eval", Map.of("interval", 3, "max_new_tokens", 2, "max_iters", 1));
    Map<String, Object> eval = new LinkedHashMap<>(c.eval().set());
    eval.put("limit", 4);
    eval.put("perplexity_max_rows", 4);
    return new PipelineConfig(c.outDir(), c.input(), c.trainTokenizer(), c.tokenize(),
        new PipelineConfig.Stage(c.pretrain().config(), pretrain), c.finetune(),
        new PipelineConfig.Stage(c.eval().config(), eval), c.report());
  }

  private static PipelineJob.Outputs run(PipelineJob.Resolved resolved) {
    PrintStream console = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    return PipelineJob.run(spark, resolved, false, console);
  }

  private static List<Long> steps(Path metrics) throws Exception {
    List<Long> steps = new ArrayList<>();
    for (String line : Files.readAllLines(metrics)) {
      JsonNode l = JsonFiles.MAPPER.readTree(line);
      if (l.has("loss") || l.has("train_loss")) {
        steps.add(l.get("step").asLong());
      }
    }
    return steps;
  }

  @Test
  void reRunSkipsCompleteStagesAndRemovedOutputRerunsItAndWhatFollows(@TempDir Path dir) throws Exception {
    PipelineJob.Resolved resolved = PipelineJob.resolve(tinyPipeline(dir));
    Path pretrain = dir.resolve("pretrain");
    Path metrics = pretrain.resolve("metrics.jsonl");
    Path report = pretrain.resolve("eval/report.json");

    PipelineJob.Outputs first = run(resolved);
    assertEquals(List.of("tokenize", "pretrain", "eval", "report"), first.ran());
    assertEquals(STEPS, first.training().step());
    assertEquals(first.shards().totalTokens(), first.shards().splits().get("train").tokens()
        + first.shards().splits().get("val").tokens());
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), steps(metrics));
    assertTrue(Files.exists(pretrain.resolve("_SUCCESS")) && Files.exists(dir.resolve("shards/_SUCCESS")));
    JsonNode json = JsonFiles.MAPPER.readTree(Files.readString(report));
    assertEquals(4, json.at("/tasks/hellaswag_small/n").asInt());
    JsonNode ppl = json.at("/perplexity/" + dir.resolve("shards").toString().replace("/", "~1"));
    assertEquals(Math.exp(ppl.path("mean_nll").asDouble()), ppl.path("perplexity").asDouble(), 1e-6);
    assertTrue(Files.exists(pretrain.resolve("report/report.html")));
    byte[] metricsBytes = Files.readAllBytes(metrics);
    byte[] reportBytes = Files.readAllBytes(report);

    // a re-run does nothing: every stage is complete
    assertEquals(List.of(), run(resolved).ran());
    assertArrayEquals(metricsBytes, Files.readAllBytes(metrics));
    assertArrayEquals(reportBytes, Files.readAllBytes(report));

    // eval's output removed: eval and report run again, the model is untouched
    FileUtils.deleteDirectory(pretrain.resolve("eval").toFile());
    PipelineJob.Outputs third = run(resolved);
    assertEquals(List.of("eval", "report"), third.ran());
    assertArrayEquals(metricsBytes, Files.readAllBytes(metrics));
    assertEquals(json.at("/tasks/hellaswag_small/acc").asDouble(), third.report().tasks().get("hellaswag_small").acc());

    // a crash between the step-3 checkpoint and the end (no step-6, no marker): pretrain resumes at step 3,
    // repeats no step and, resuming exactly, ends with the uninterrupted run's loss
    FileUtils.deleteDirectory(pretrain.resolve("step-000006").toFile());
    Files.writeString(pretrain.resolve("latest"), "step-000003\n");
    Files.delete(pretrain.resolve("_SUCCESS"));
    PipelineJob.Outputs fourth = run(resolved);
    assertEquals(List.of("pretrain", "eval", "report"), fourth.ran());
    assertEquals(STEPS, fourth.training().step());
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), steps(metrics));
    assertEquals(first.training().trainLoss(), fourth.training().trainLoss(), 1e-6);

    // the shards removed: everything runs again, the model retrained from scratch on the new shards
    FileUtils.deleteDirectory(dir.resolve("shards").toFile());
    PipelineJob.Outputs fifth = run(resolved);
    assertEquals(List.of("tokenize", "pretrain", "eval", "report"), fifth.ran());
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), steps(metrics));
    assertEquals(first.training().trainLoss(), fifth.training().trainLoss(), 1e-6, "same seed, same shards");
  }

  /** The pipeline with {@code stage}'s override {@code key} set to {@code value}. */
  private static PipelineConfig with(PipelineConfig c, String stage, String key, Object value) {
    PipelineConfig.Stage old = "eval".equals(stage) ? c.eval() : c.pretrain();
    Map<String, Object> set = new LinkedHashMap<>(old.flatSet());
    set.put(key, value);
    PipelineConfig.Stage changed = new PipelineConfig.Stage(old.config(), set);
    return "eval".equals(stage)
        ? new PipelineConfig(c.outDir(), c.input(), c.trainTokenizer(), c.tokenize(), c.pretrain(), c.finetune(),
            changed, c.report())
        : new PipelineConfig(c.outDir(), c.input(), c.trainTokenizer(), c.tokenize(), changed, c.finetune(),
            c.eval(), c.report());
  }

  @Test
  void aStageWhoseConfigChangedRunsAgainNamingTheKeys(@TempDir Path dir) throws Exception {
    PipelineConfig c = tinyPipeline(dir);
    assertEquals(List.of("tokenize", "pretrain", "eval", "report"), run(PipelineJob.resolve(c)).ran());
    assertTrue(Files.exists(dir.resolve("shards/_STAGE_tokenize.yaml")));
    assertEquals(List.of(), run(PipelineJob.resolve(c)).ran());

    // eval's limit changed: eval (its old report removed first) and report run, with the new limit
    PipelineConfig fewer = with(c, "eval", "limit", 3);
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PipelineJob.Outputs second = PipelineJob.run(spark, PipelineJob.resolve(fewer), false,
        new PrintStream(printed, true, StandardCharsets.UTF_8));
    assertEquals(List.of("eval", "report"), second.ran());
    assertEquals(3, second.report().tasks().get("hellaswag_small").n());
    assertTrue(printed.toString(StandardCharsets.UTF_8).contains("its config changed since it finished (limit)"),
        printed.toString(StandardCharsets.UTF_8));

    // pretrain's max_steps raised: it continues from its last checkpoint (steps 7, 8), then eval and report
    PipelineConfig longer = with(fewer, "pretrain", "train.max_steps", STEPS + 2);
    PipelineJob.Outputs third = run(PipelineJob.resolve(longer));
    assertEquals(List.of("pretrain", "eval", "report"), third.ran());
    assertEquals(STEPS + 2, third.training().step());
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L), steps(dir.resolve("pretrain/metrics.jsonl")));
    assertEquals(List.of(false, false, false, false),
        StageRunner.plan(PipelineJob.stages(null, PipelineJob.resolve(longer), System.out), false,
            spark.sparkContext().hadoopConfiguration()));
  }

  @Test
  void setOnTheCommandLineReachesIntoAStagesOverrides(@TempDir Path dir) {
    PipelineConfig c = ConfigLoader.load(PipelineConfig.class, PipelineConfig.defaults(),
        Path.of("conf/pipeline/verdict.yaml"), List.of("pretrain.set.train.max_steps=7", "eval.set.num_fewshot=2"),
        Map.of("out_dir", dir.toString()), null);
    PipelineJob.Resolved r = PipelineJob.resolve(c);
    assertEquals(7, r.pretrain().train().maxSteps());
    assertEquals(20, r.pretrain().train().saveInterval(), "the YAML's other train keys stay");
    assertEquals(2, r.eval().numFewshot());
    assertEquals(dir + "/pretrain", r.eval().checkpoint());
    assertEquals(List.of(dir + "/shards"), r.eval().perplexity());
  }

  @Test
  void refusesAnOverrideOfAKeyThePipelineWires(@TempDir Path dir) {
    PipelineConfig c = tinyPipeline(dir);
    PipelineConfig bad = new PipelineConfig(c.outDir(), c.input(), c.trainTokenizer(), c.tokenize(),
        new PipelineConfig.Stage(c.pretrain().config(), Map.of("data", Map.of("shards", "/elsewhere"))),
        c.finetune(), c.eval(), c.report());
    ConfigException e = assertThrows(ConfigException.class, () -> PipelineJob.resolve(bad));
    assertTrue(e.getMessage().contains("pretrain.set.data.shards"), e.getMessage());
    assertFalse(Files.exists(dir.resolve("shards")));
  }

  @Test
  void aTrainTokenizerStageWiresItsVocabularyIntoTokenizePretrainAndEval(@TempDir Path dir) {
    PipelineConfig c = tinyPipeline(dir);
    PipelineConfig with = new PipelineConfig(c.outDir(), c.input(),
        new PipelineConfig.Stage(null, Map.of("vocab_size", 300)), c.tokenize(), c.pretrain(), c.finetune(),
        c.eval(), c.report());
    PipelineJob.Resolved r = PipelineJob.resolve(with);
    String tokenizer = dir + "/tokenizer";
    assertEquals(tokenizer, r.trainTokenizer().output());
    assertEquals(r.tokenize().input(), r.trainTokenizer().input());
    assertEquals(300, r.trainTokenizer().vocabSize());
    assertEquals(tokenizer, r.tokenize().tokenizer());
    assertEquals(tokenizer, r.pretrain().data().tokenizer());
    assertEquals(300, ((Number) r.pretrain().model().get("vocab_size")).intValue());
    assertEquals(tokenizer, r.eval().tokenizer());
    assertEquals(List.of("tokenizer", "tokenize", "pretrain", "eval", "report"),
        PipelineJob.stages(null, r, System.out).stream().map(StageRunner.Stage::name).toList());

    PipelineConfig clash = new PipelineConfig(c.outDir(), c.input(), with.trainTokenizer(),
        new PipelineConfig.Stage(c.tokenize().config(), Map.of("tokenizer", "gpt2")), c.pretrain(), c.finetune(),
        c.eval(), c.report());
    ConfigException e = assertThrows(ConfigException.class, () -> PipelineJob.resolve(clash));
    assertTrue(e.getMessage().contains("tokenize.set.tokenizer"), e.getMessage());
  }

  @Test
  void anUnknownKeyInAStageSetIsRefusedByName(@TempDir Path dir) {
    PipelineConfig c = tinyPipeline(dir);
    PipelineConfig bad = new PipelineConfig(c.outDir(), c.input(), c.trainTokenizer(), c.tokenize(), c.pretrain(), c.finetune(),
        new PipelineConfig.Stage(c.eval().config(), Map.of("limitt", 3)), c.report());
    ConfigException e = assertThrows(ConfigException.class, () -> PipelineJob.resolve(bad));
    assertTrue(e.getMessage().contains("limitt") && e.getMessage().contains("limit"), e.getMessage());
  }
  /** {@code sparkgpt pipeline ... --dry-run} with its stdout; returns {exit code, stdout, stderr}. */
  private static String[] dryRun(Path outDir) {
    java.io.StringWriter err = new java.io.StringWriter();
    picocli.CommandLine cli = Jobs.commandLine(new PipelineJob());
    cli.setErr(new java.io.PrintWriter(err, true));
    PrintStream old = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      int code = cli.execute("--config", "conf/pipeline/verdict.yaml", "--out-dir", outDir.toString(), "--dry-run");
      return new String[] {String.valueOf(code), out.toString(StandardCharsets.UTF_8), err.toString()};
    } finally {
      System.setOut(old);
    }
  }

  private static List<String> stageLines(String stdout) {
    return stdout.lines().filter(l -> l.matches("(tokenize|pretrain|finetune|eval|report) +.*")).toList();
  }

  private static List<Path> files(Path dir) throws Exception {
    try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
      return all.sorted().toList();
    }
  }

  @Test
  void dryRunListsWhatWouldRunAndWhatWouldBeSkippedAndWritesNothing(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("p");
    String[] r = dryRun(out);
    assertEquals("0", r[0], r[2]);
    assertEquals(List.of(
        "tokenize  would run (" + out + "/shards/_SUCCESS)",
        "pretrain  would run (" + out + "/pretrain/_SUCCESS)",
        "eval      would run (" + out + "/pretrain/eval/report.json)",
        "report    would run (" + out + "/pretrain/report/report.html)"), stageLines(r[1]));
    assertTrue(r[1].contains("dry run: every stage's config valid, 1 input files, 2 task files read; nothing "
        + "written"), r[1]);
    assertFalse(Files.exists(out), "a dry run creates nothing");

    // tokenize finished, and an eval report from an earlier model: pretrain must run, so eval runs again too
    Files.createDirectories(out.resolve("shards"));
    Files.createFile(out.resolve("shards/_SUCCESS"));
    Files.createDirectories(out.resolve("pretrain/eval"));
    Files.writeString(out.resolve("pretrain/eval/report.json"), "{}");
    List<Path> before = files(dir);
    assertEquals(List.of(
        "tokenize  complete, would be skipped (" + out + "/shards/_SUCCESS)",
        "pretrain  would run (" + out + "/pretrain/_SUCCESS)",
        "eval      would run (" + out + "/pretrain/eval/report.json)",
        "report    would run (" + out + "/pretrain/report/report.html)"), stageLines(dryRun(out)[1]));

    // every stage finished: nothing would run
    Files.createFile(out.resolve("pretrain/_SUCCESS"));
    Files.createDirectories(out.resolve("pretrain/report"));
    Files.writeString(out.resolve("pretrain/report/report.html"), "<html></html>");
    assertTrue(stageLines(dryRun(out)[1]).stream().allMatch(l -> l.contains(" complete, would be skipped (")));
    assertEquals(4, stageLines(dryRun(out)[1]).size());
    before = new java.util.ArrayList<>(before);
    before.addAll(List.of(out.resolve("pretrain/_SUCCESS"), out.resolve("pretrain/report"),
        out.resolve("pretrain/report/report.html")));
    before.sort(null);
    assertEquals(before, files(dir), "the dry runs wrote nothing");
  }
}
