package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.EvalConfig;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.jobs.EvalJob;
import dev.sparkgpt.jobs.Jobs;
import dev.sparkgpt.jobs.TokenizeJob;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class EvalJobTest extends SparkTestBase {
  private static final String DATA = "src/main/resources/data/eval/";
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final Tokenizer GPT2 = Tokenizers.load("gpt2");
  private static final String VERDICT = "src/main/resources/data/corpora/the-verdict.txt";

  @TempDir
  static Path shared;
  static Path shards;
  static Path lambada;

  /** A tiny tokenize output (the first 3,000 characters of The Verdict, split by tokens) and a last-word task. */
  @BeforeAll
  static void makeInputs() throws IOException {
    Path text = shared.resolve("verdict-3k.txt");
    Files.writeString(text, Files.readString(Path.of(VERDICT)).substring(0, 3000));
    shards = shared.resolve("shards");
    TokenizeConfig tokenize = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        List.of("seq_len=16", "split=tokens", "val_fraction=0.2"),
        Map.of("input", List.of(text.toString()), "output", shards.toString()), null);
    TokenizeJob.run(spark, tokenize, QUIET);
    lambada = shared.resolve("lambada_toy.jsonl");
    Files.writeString(lambada, """
        {"text": "She opened the door and saw her old friend standing there"}
        {"text": "The sun rises in the east and sets in the west"}
        {"text": "He poured the coffee into a cup"}
        """);
  }

  private static EvalConfig config(Path out, boolean distributed, String... overrides) {
    List<String> sets = new ArrayList<>(List.of(overrides));
    sets.add("distributed=" + distributed);
    Map<String, Object> flags = new LinkedHashMap<>();
    flags.put("out", out.toString());
    return ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), null, sets, flags, null);
  }

  private static Map<String, TaskResult> withoutTimes(Map<String, TaskResult> results) {
    Map<String, TaskResult> out = new LinkedHashMap<>();
    results.forEach((k, v) -> out.put(k, v.withSeconds(0)));
    return out;
  }

  private static Map<String, PerplexityResult> withoutTimes2(Map<String, PerplexityResult> results) {
    Map<String, PerplexityResult> out = new LinkedHashMap<>();
    results.forEach((k, v) -> out.put(k, new PerplexityResult(v.tokens(), v.meanNll(), v.perplexity(),
        v.bitsPerByte(), v.bytes(), 0, v.kind(), v.split(), v.path())));
    return out;
  }

  @Test
  void sparkAndLocalRunsWriteTheSameReport(@TempDir Path dir) throws IOException {
    String[] sets = {"tasks=[" + DATA + "copa.jsonl, " + DATA + "hellaswag_small.jsonl, " + DATA + "mmlu_small.jsonl, "
        + lambada + "]", "perplexity=[" + shards + ", " + shared.resolve("verdict-3k.txt") + "]", "limit=12",
        "num_fewshot=2", "batch_size=3", "partitions=3", "perplexity_stride=12"};
    ScoringModel model = new TestModels.Hashed(50257, 48); // 2-shot hellaswag contexts are longer: cut from the left
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    EvalReport distributed = EvalJob.run(spark, config(dir.resolve("spark.json"), true, sets), model,
        new PrintStream(console, true, StandardCharsets.UTF_8));
    EvalReport local = EvalJob.run(null, config(dir.resolve("local.json"), false, sets), model, QUIET);

    assertEquals(List.of("copa", "hellaswag_small", "mmlu_small", "lambada_toy"),
        new ArrayList<>(local.tasks().keySet()));
    assertEquals(withoutTimes(local.tasks()), withoutTimes(distributed.tasks()));
    assertEquals(withoutTimes2(local.perplexity()), withoutTimes2(distributed.perplexity()));
    assertEquals(12, local.tasks().get("copa").n());
    assertEquals(24, local.tasks().get("copa").requests());
    assertEquals(4, local.tasks().get("hellaswag_small").n());
    assertEquals(3, local.tasks().get("lambada_toy").n());
    assertEquals(2, local.tasks().get("copa").numFewshot());

    JsonNode json = JsonFiles.MAPPER.readTree(dir.resolve("spark.json").toFile());
    assertEquals(distributed.tasks().get("copa").acc(), json.get("tasks").get("copa").get("acc").asDouble());
    assertEquals(12, json.get("config").get("limit").asInt());
    assertTrue(json.get("config").get("distributed").asBoolean());
    List<String> files = listing(dir);
    assertEquals(List.of("local.json", "spark.json"), files.stream().filter(f -> f.endsWith(".json")
        && !f.startsWith("results_")).toList(), "reports, and no temporary files");
    assertEquals(2, files.stream().filter(f -> f.startsWith("results_")).count(), "one lm-eval results per run");
    assertEquals(8, files.stream().filter(f -> f.startsWith("samples_")).count(), "per run, one per task");
    assertTrue(files.contains(HarnessResults.PARQUET), "the Spark run's samples as Parquet");
    assertEquals(0, files.stream().filter(f -> f.startsWith(".")).count(), files.toString());
    String printed = console.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains("| task | n | shots | acc | ± | acc_norm | ± | ppl | s |"), printed);
    assertTrue(printed.contains("| copa | 12 | 2 | "), printed);
    assertTrue(printed.contains("| " + shards + " (val) | "), printed);
  }

  @Test
  void uniformModelOnShardsScoresEveryValTokenButTheFirstAtPerplexityVocabSize(@TempDir Path dir) throws IOException {
    Manifest manifest = JsonFiles.read(new org.apache.hadoop.fs.Path(shards.toString(), Manifest.FILE),
        Manifest.class, dev.sparkgpt.io.HadoopConf.create());
    EvalReport report = EvalJob.run(spark, config(dir.resolve("r.json"), true, "perplexity=[" + shards + "]"),
        new TestModels.Uniform(50257, 8), QUIET);
    PerplexityResult r = report.perplexity().get(shards.toString());
    long valTokens = manifest.splits().get("val").tokens();
    assertEquals(valTokens - 1, r.tokens(), "rows overlap by one: the split's first token is never a target");
    assertEquals(50257, r.perplexity(), 50257 * 1e-12);
    // val = the last 20% of encode(text) + [eot]; targets = all but its first token; the eot counts no bytes
    List<Integer> stream = new ArrayList<>();
    for (int id : GPT2.encode(Files.readString(shared.resolve("verdict-3k.txt")))) {
      stream.add(id);
    }
    int[] targets = stream.subList((int) (stream.size() + 1 - valTokens + 1), stream.size()).stream()
        .mapToInt(Integer::intValue).toArray();
    assertEquals(GPT2.decode(targets).getBytes(StandardCharsets.UTF_8).length, r.bytes());
    assertEquals((valTokens - 1) * Math.log(50257) / Math.log(2) / r.bytes(), r.bitsPerByte(), 1e-12);
  }

  @Test
  void shardsTokenizedWithAnotherTokenizerThanTheEvalsAreRefusedNamingBoth(@TempDir Path dir) {
    Path out = dir.resolve("r.json");
    var e = assertThrows(dev.sparkgpt.data.ShardFormatException.class, () -> EvalJob.run(null, config(out, false,
        "perplexity=[" + shards + "]", "tokenizer=cl100k_base"), new TestModels.Uniform(100277, 8), QUIET));
    assertEquals(shards.resolve(Manifest.FILE) + ": shards were tokenized with 'gpt2' (hash " + GPT2.hash()
        .substring(0, 12) + "…), but the tokenizer in use is 'cl100k_base' (hash " + Tokenizers.load("cl100k_base")
        .hash().substring(0, 12) + "…). Fix: use the same tokenizer, or re-run sparkgpt tokenize with --tokenizer "
        + "matching the model", e.getMessage());
    assertFalse(Files.exists(out));
  }

  @Test
  void anExecutorsErrorReachesTheCallerUnwrapped(@TempDir Path dir) {
    var e = assertThrows(EvalException.class, () -> EvalJob.run(spark, config(dir.resolve("r.json"), true,
        "tasks=[" + DATA + "hellaswag_small.jsonl]"), new TestModels.Uniform(50257, 16), QUIET));
    assertEquals("a continuation of 27 tokens does not fit the model's context of 16 tokens. Fix: shorten the choice"
        + " or use a model with a longer context", e.getMessage());
    assertFalse(Files.exists(dir.resolve("r.json")));
  }

  @Test
  void aBadTaskFileFailsBeforeAnythingIsScoredOrWritten(@TempDir Path dir) throws IOException {
    Path bad = dir.resolve("broken.jsonl");
    Files.writeString(bad, "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n");
    Path out = dir.resolve("report.json");
    var e = assertThrows(TaskFormatException.class, () -> EvalJob.run(spark, config(out, true,
        "tasks=[" + DATA + "copa.jsonl, " + bad + "]"), new TestModels.Uniform(50257, 8), QUIET));
    assertEquals(bad + ":1: gold index 2 is out of range for 2 choices (0..1)", e.getMessage());
    assertFalse(Files.exists(out));
  }

  @Test
  void aModelThatCannotTravelToExecutorsIsRefusedWithTheFix(@TempDir Path dir) {
    ScoringModel local = new ScoringModel() {
      @Override
      public int contextLength() {
        return 8;
      }

      @Override
      public int vocabSize() {
        return 50257;
      }

      @Override
      public float[][][] logits(int[][] ids) {
        return new float[ids.length][ids[0].length][50257];
      }
    };
    var e = assertThrows(IllegalArgumentException.class, () -> EvalJob.run(spark, config(dir.resolve("r.json"), true,
        "tasks=[" + DATA + "mmlu_small.jsonl]"), local, QUIET));
    assertTrue(e.getMessage().endsWith("or set distributed: false"), e.getMessage());
    EvalReport report = EvalJob.run(null, config(dir.resolve("r.json"), false, "tasks=[" + DATA + "mmlu_small.jsonl]"),
        local, QUIET);
    assertEquals(0.25, report.tasks().get("mmlu_small").acc(), "uniform: every choice ties, argmax takes choice 0");
  }

  @Test
  void aDirectoryThatIsNotACheckpointIsRefusedByName(@TempDir Path dir) {
    StringWriter err = new StringWriter();
    CommandLine cli = Jobs.commandLine(new EvalJob());
    cli.setErr(new PrintWriter(err));
    int code = cli.execute("--checkpoint", dir.toString(), "--tasks", DATA + "mmlu_small.jsonl", "--out",
        dir.resolve("r.json").toString());
    assertEquals(2, code);
    assertTrue(err.toString().startsWith("error: " + dir + ": not a checkpoint"), err.toString());
  }

  @Test
  void dryRunReadsTheTasksAndPrintsTheResolvedConfig(@TempDir Path dir) {
    PrintStream stdout = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int code;
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      code = Jobs.commandLine(new EvalJob()).execute("--config", "conf/eval/smoke.yaml", "--checkpoint",
          dir.toString(), "--num-fewshot", "1", "--local", "--dry-run");
    } finally {
      System.setOut(stdout);
    }
    String printed = captured.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, printed);
    assertTrue(printed.contains("num_fewshot: 1\n"), printed);
    assertTrue(printed.contains("distributed: false\n"), printed);
    assertTrue(printed.endsWith("dry run: 2 task files read, config valid; nothing written\n"), printed);
  }

  @Test
  void resultsAndSamplesFollowLmEvalsSchemaAndParquetAcrossCheckpointsIsOneQuery(@TempDir Path dir)
      throws IOException {
    spark = shared(); // a CLI test here ran a job, which stops the session it used
    String[] sets = {"tasks=[" + DATA + "copa.jsonl, " + lambada + "]", "limit=5", "seed=7", "batch_size=4"};
    EvalReport report = EvalJob.run(spark, config(dir.resolve("r.json"), true, sets), new TestModels.Hashed(50257,
        48), QUIET);
    List<String> files = listing(dir);
    String results = files.stream().filter(f -> f.startsWith("results_")).findFirst().orElseThrow();
    String stamp = results.substring("results_".length(), results.length() - ".json".length());
    assertTrue(stamp.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{6}"), stamp);
    JsonNode json = JsonFiles.MAPPER.readTree(dir.resolve(results).toFile());
    assertEquals(List.of("results", "group_subtasks", "configs", "versions", "n-shot", "higher_is_better", "n-samples",
        "config", "git_hash", "date", "total_evaluation_time_seconds"), iterate(json.fieldNames()));
    TaskResult copa = report.tasks().get("copa");
    assertEquals(copa.acc(), json.at("/results/copa/acc,none").asDouble());
    assertEquals(copa.accStderr(), json.at("/results/copa/acc_stderr,none").asDouble());
    assertEquals(copa.accNorm(), json.at("/results/copa/acc_norm,none").asDouble());
    assertEquals(copa.accBytes(), json.at("/results/copa/acc_bytes,none").asDouble());
    assertEquals(report.tasks().get("lambada_toy").perplexity(), json.at("/results/lambada_toy/perplexity,none")
        .asDouble());
    assertFalse(json.at("/higher_is_better/lambada_toy/perplexity").asBoolean());
    assertEquals(5, json.at("/n-samples/copa/effective").asInt());
    assertTrue(json.at("/n-samples/copa/original").asInt() > 5);
    assertEquals(0, json.at("/n-shot/copa").asInt());
    assertEquals(7, json.at("/config/random_seed").asInt());
    assertEquals(5, json.at("/config/limit").asInt());
    assertEquals(4, json.at("/config/batch_size").asInt());
    assertEquals("multiple_choice", json.at("/configs/copa/output_type").asText());
    assertEquals("sparkgpt", json.at("/config/model").asText());
    assertEquals("checkpoint=in-memory", json.at("/config/model_args").asText());
    for (String seed : new String[] {"random_seed", "numpy_seed", "torch_seed", "fewshot_seed"}) {
      assertEquals(7, json.at("/config/seeds/" + seed).asInt(), seed);
    }
    assertEquals(HarnessResults.TASK_VERSION, json.at("/versions/copa").asDouble());
    assertTrue(json.get("git_hash").isNull() || json.get("git_hash").asText().matches("[0-9a-f]{7,}.*"),
        json.get("git_hash").toString());
    assertEquals(System.currentTimeMillis() / 1000.0, json.get("date").asDouble(), 600, "epoch seconds");
    double total = Double.parseDouble(json.get("total_evaluation_time_seconds").asText()); // a string, as lm-eval's
    assertTrue(total > 0 && total < 600, "seconds: " + total);
    assertTrue(json.at("/results/copa/acc_norm_stderr,none").isNumber());
    assertTrue(json.at("/higher_is_better/copa/acc_norm").asBoolean());

    List<String> lines = Files.readAllLines(dir.resolve("samples_copa_" + stamp + ".jsonl"));
    assertEquals(5, lines.size());
    JsonNode first = JsonFiles.MAPPER.readTree(lines.get(0));
    assertEquals(List.of("doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "doc_hash", "prompt_hash",
        "target_hash", "metrics", "acc", "acc_norm", "acc_bytes"), iterate(first.fieldNames()));
    assertEquals(0, first.get("doc_id").asInt());
    assertEquals(" " + first.at("/doc/choices/0").asText(), first.at("/arguments/gen_args_0/arg_1").asText());
    assertEquals(first.at("/resps/0/0"), first.at("/filtered_resps/0"));
    assertTrue(first.at("/resps/0/0/1").asText().matches("True|False"));
    assertEquals(HarnessSample.sha256(first.at("/arguments/gen_args_0/arg_0").asText()), first.get("prompt_hash")
        .asText());
    double mean = lines.stream().mapToDouble(l -> {
      try {
        return JsonFiles.MAPPER.readTree(l).get("acc").asDouble();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }).average().orElseThrow();
    assertEquals(copa.acc(), mean, 1e-12, "the samples' acc averages to the task's");

    assertTrue(Files.isDirectory(dir.resolve(HarnessResults.PARQUET).resolve("checkpoint=in-memory")
        .resolve("task=copa")), "partitioned by checkpoint, then task");
    // a second checkpoint's samples go to their own partition of the same table
    TaskEvaluation.Evaluated again = TaskEvaluation.evaluateWithSamples(TaskFiles.read(DATA + "copa.jsonl",
        dev.sparkgpt.io.HadoopConf.create()), 5, 0, 7, GPT2, new LocalRunner(new TestModels.Uniform(50257, 48), 4));
    HarnessResults.writeParquet(spark, dir.toString(), "step-000200", stamp, Map.of("copa", again));
    spark.read().parquet(dir.resolve(HarnessResults.PARQUET).toString()).createOrReplaceTempView("samples");
    List<org.apache.spark.sql.Row> rows = spark.sql("SELECT checkpoint, task, count(*), avg(acc) FROM samples "
        + "GROUP BY checkpoint, task ORDER BY checkpoint, task").collectAsList();
    assertEquals(3, rows.size(), rows.toString());
    assertEquals("in-memory", rows.get(0).getString(0));
    assertEquals("copa", rows.get(0).getString(1));
    assertEquals(5, rows.get(0).getLong(2));
    assertEquals(copa.acc(), rows.get(0).getDouble(3), 1e-12);
    assertEquals("step-000200", rows.get(2).getString(0));
    assertEquals(again.result().acc(), rows.get(2).getDouble(3), 1e-12);
  }

  private static List<String> iterate(java.util.Iterator<String> it) {
    List<String> out = new ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }
}
