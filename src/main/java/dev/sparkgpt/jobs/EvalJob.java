package dev.sparkgpt.jobs;

import dev.sparkgpt.io.Progress;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.EvalConfig;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.eval.CheckpointInfo;
import dev.sparkgpt.eval.ClassificationTask;
import dev.sparkgpt.eval.EvalReport;
import dev.sparkgpt.eval.LocalRunner;
import dev.sparkgpt.eval.GptScoringModel;
import dev.sparkgpt.eval.HarnessResults;
import dev.sparkgpt.eval.ModelFactory;
import dev.sparkgpt.eval.Perplexity;
import dev.sparkgpt.eval.PerplexityResult;
import dev.sparkgpt.eval.RequestRunner;
import dev.sparkgpt.eval.ScoringModel;
import dev.sparkgpt.eval.SparkRunner;
import dev.sparkgpt.eval.Task;
import dev.sparkgpt.eval.TaskEvaluation;
import dev.sparkgpt.eval.TaskFiles;
import dev.sparkgpt.eval.TaskResult;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Evaluates a checkpoint: multiple-choice and last-word tasks (lm-evaluation-harness conventions) and perplexity
 * on token shards or text, scored on Spark executors; writes report.json and prints Markdown tables.
 *
 * <p>Usage: {@code sparkgpt eval --checkpoint DIR --tasks FILE[,FILE...] [--perplexity PATH[,PATH...]]
 * --out report.json [--num-fewshot K] [--config conf/eval/X.yaml] [--set key=value]}; under spark-submit:
 * {@code --class dev.sparkgpt.jobs.EvalJob sparkgpt.jar <same args>}.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Evaluate a checkpoint on multiple-choice / last-word tasks and perplexity; write report.json.")
public final class EvalJob implements Callable<Integer> {
  @Mixin
  JobOptions options = new JobOptions();

  @Option(names = "--checkpoint", paramLabel = "DIR",
      description = "A run's out_dir, one step-NNNNNN directory or a Hugging Face GPT-2/Llama directory.")
  String checkpoint;

  @Option(names = "--tasks", split = ",", paramLabel = "FILE", description = "Task files (.jsonl).")
  List<String> tasks;

  @Option(names = "--classification", split = ",", paramLabel = "FILE",
      description = "Labelled files (label TAB text, .csv or .jsonl) scored by a classify-finetune checkpoint.")
  List<String> classification;

  @Option(names = "--perplexity", split = ",", paramLabel = "PATH",
      description = "Tokenize outputs (val split) or .txt files.")
  List<String> perplexity;

  @Option(names = "--out", paramLabel = "FILE", description = "Where report.json goes (any Hadoop path).")
  String out;

  @Option(names = "--num-fewshot", paramLabel = "K", description = "Examples before each item (default 0).")
  Integer numFewshot;

  @Option(names = "--limit", paramLabel = "N", description = "Score only the first N items of each task.")
  Integer limit;

  @Option(names = "--batch-size", paramLabel = "N", description = "Sequences per forward pass (default 8).")
  Integer batchSize;

  @Option(names = "--local", description = "Score on one driver thread instead of Spark executors.")
  Boolean local;

  public static void main(String[] args) {
    System.exit(Jobs.execute(new EvalJob(), args));
  }

  @Override
  public Integer call() {
    EvalConfig config = resolveConfig();
    if (options.dryRun()) {
      readTasks(config, HadoopConf.create());
      return Jobs.dryRun(config, config.tasks().size() + " task files read, config valid");
    }
    ModelFactory model = modelFromCheckpoint(config);
    Jobs.withSession("sparkgpt-eval", config.distributed(), spark -> run(spark, config, model, System.out));
    return 0;
  }

  EvalConfig resolveConfig() {
    Map<String, Object> flags = new LinkedHashMap<>();
    flags.put("checkpoint", checkpoint);
    flags.put("tasks", tasks);
    flags.put("classification", classification);
    flags.put("perplexity", perplexity);
    flags.put("out", out);
    flags.put("num_fewshot", numFewshot);
    flags.put("limit", limit);
    flags.put("batch_size", batchSize);
    flags.put("distributed", local == null ? null : !local);
    return options.resolve(EvalConfig.class, EvalConfig.defaults(), flags).validate(true);
  }

  /**
   * The model of {@code config.checkpoint()}: the single place a checkpoint (SparkGPT run or step directory, or a
   * Hugging Face GPT-2/Llama directory) becomes a {@link ScoringModel}, loaded where it is used (driver or executor).
   */
  static ModelFactory modelFromCheckpoint(EvalConfig config) {
    return GptScoringModel.factory(config.checkpoint());
  }

  /**
   * Runs the job with {@code model} (it must be Serializable when {@code config.distributed()}); {@code spark} may
   * be null when not distributed. Returns the report it wrote.
   */
  public static EvalReport run(SparkSession spark, EvalConfig config, ScoringModel model, PrintStream console) {
    return run(spark, config, config.distributed() ? ModelFactory.of(model) : () -> model, console);
  }

  /** Runs the job, the model built by {@code factory} on the driver and, when distributed, once per Spark task. */
  public static EvalReport run(SparkSession spark, EvalConfig config, ModelFactory factory, PrintStream console) {
    config.validate(false);
    if (config.distributed() && spark == null) {
      throw new IllegalArgumentException("distributed: true needs a Spark session");
    }
    try {
      return evaluate(spark, config, factory, console);
    } catch (Exception e) {
      throw Jobs.unwrap(e); // an executor's EvalException arrives wrapped in a SparkException
    }
  }

  private static EvalReport evaluate(SparkSession spark, EvalConfig config, ModelFactory factory,
      PrintStream console) {
    Configuration hadoop = spark == null ? HadoopConf.create() : spark.sparkContext().hadoopConfiguration();
    List<Task> taskList = readTasks(config, hadoop);
    Tokenizer tokenizer = (config.checkpoint() == null ? TokenizerSpec.resolve(auto(config.tokenizer()), hadoop)
        : CheckpointTokenizer.resolve(config.checkpoint(), config.tokenizer(), hadoop, "tokenizer")).get();
    ScoringModel model = factory.create();
    if (tokenizer.vocabSize() > model.vocabSize()) {
      throw new ConfigException("tokenizer", tokenizer.name() + " has " + tokenizer.vocabSize() + " ids but the model "
          + (config.checkpoint() == null ? "" : "of " + config.checkpoint() + " ") + "only " + model.vocabSize(),
          "set tokenizer to the one the model was trained with");
    }
    RequestRunner runner = config.distributed()
        ? new SparkRunner(JavaSparkContext.fromSparkContext(spark.sparkContext()), factory, config.batchSize(),
            config.partitions())
        : new LocalRunner(model, config.batchSize());
    console.printf("eval: %d tasks, %d perplexity sources | model context %d, vocab %d | %d-shot, batch %d, %s%n",
        taskList.size(), config.perplexity().size(), model.contextLength(), model.vocabSize(), config.numFewshot(),
        config.batchSize(), config.distributed() ? "on Spark (" + describeParallelism(spark, config) + ")"
            : "local, one thread");

    long started = System.nanoTime();
    Map<String, TaskEvaluation.Evaluated> evaluated = scoreTasks(taskList, config, tokenizer, runner, console);
    Map<String, TaskResult> taskResults = new LinkedHashMap<>();
    evaluated.forEach((name, e) -> taskResults.put(name, e.result()));
    taskResults.putAll(scoreClassification(spark, config, hadoop, console));
    Map<String, PerplexityResult> perplexities = scorePerplexity(config, tokenizer, model, runner, hadoop, console);
    @SuppressWarnings("unchecked")
    Map<String, Object> configMap = JsonFiles.MAPPER.convertValue(config, Map.class);
    EvalReport report = new EvalReport(taskResults, perplexities, CheckpointInfo.describe(config.checkpoint(), hadoop),
        configMap, Instant.now().toString());
    report.write(config.out(), hadoop);
    console.print(report.toMarkdown());
    console.println("eval: report written to " + config.out());
    if (!evaluated.isEmpty()) {
      writeHarnessResults(spark, config, taskList, evaluated, report.checkpoint(), (System.nanoTime() - started) / 1e9,
          hadoop, console);
    }
    return report;
  }

  /** Every task file, read and checked before anything is scored (a bad line fails the job at once). */
  private static List<Task> readTasks(EvalConfig config, Configuration hadoop) {
    List<Task> taskList = new ArrayList<>();
    for (String path : config.tasks()) {
      taskList.add(TaskFiles.read(path, hadoop));
    }
    return taskList;
  }

  /** Without a checkpoint (a model from a factory) "auto" has nothing to look at: GPT-2's, as before. */
  private static String auto(String spec) {
    return CheckpointTokenizer.AUTO.equals(spec) ? "gpt2" : spec;
  }

  /**
   * The tasks' results in lm-evaluation-harness's schema beside report.json (results_*.json, samples_*.jsonl) and,
   * with a Spark session, the samples as Parquet partitioned by checkpoint and task.
   */
  private static void writeHarnessResults(SparkSession spark, EvalConfig config, List<Task> taskList,
      Map<String, TaskEvaluation.Evaluated> evaluated, CheckpointInfo checkpoint, double seconds,
      Configuration hadoop, PrintStream console) {
    Instant now = Instant.now();
    String stamp = HarnessResults.timestamp(now);
    Map<String, Integer> sizes = new LinkedHashMap<>();
    taskList.forEach(t -> sizes.put(t.name(), t.items().size()));
    String dir = new org.apache.hadoop.fs.Path(config.out()).getParent() == null ? "."
        : new org.apache.hadoop.fs.Path(config.out()).getParent().toString();
    String model = checkpoint.path() == null ? "in-memory" : checkpoint.path();
    Map<String, Object> results = HarnessResults.results(evaluated, sizes, HarnessResults.config(model,
        config.batchSize(), config.limit(), config.seed()), seconds, now);
    List<String> written = HarnessResults.write(dir, stamp, results, evaluated, hadoop);
    console.println("eval: lm-eval results and samples written to " + String.join(", ", written));
    if (spark != null) {
      String id = checkpoint.label() != null ? checkpoint.label() : model;
      console.println("eval: samples as Parquet in " + HarnessResults.writeParquet(spark, dir, id, stamp, evaluated)
          + " (partition checkpoint=" + id + ")");
    }
  }

  private static Map<String, TaskEvaluation.Evaluated> scoreTasks(List<Task> taskList, EvalConfig config,
      Tokenizer tokenizer, RequestRunner runner, PrintStream console) {
    Map<String, TaskEvaluation.Evaluated> results = new LinkedHashMap<>();
    for (Task task : taskList) {
      if (runner instanceof SparkRunner spark) {
        spark.describe("sparkgpt eval " + task.name());
      }
      TaskEvaluation.Evaluated e;
      try (Progress bar = requestBar("eval " + task.name(), runner)) {
        e = TaskEvaluation.evaluateWithSamples(task, config.limit(), config.numFewshot(), config.seed(), tokenizer,
            runner);
      }
      results.put(task.name(), e);
      TaskResult r = e.result();
      console.printf(Locale.ROOT, "eval: %-20s %5d items, %6d requests in %.1f s (%.1f items/s) | acc %.4f%s%n",
          task.name(), r.n(), r.requests(), r.seconds(), r.n() / r.seconds(), r.acc(),
          r.accNorm() == null ? "" : String.format(Locale.ROOT, " | acc_norm %.4f", r.accNorm()));
    }
    return results;
  }

  private static Map<String, TaskResult> scoreClassification(SparkSession spark, EvalConfig config,
      Configuration hadoop, PrintStream console) {
    Map<String, TaskResult> results = new LinkedHashMap<>();
    for (String file : config.classification()) {
      String name = file.substring(file.lastIndexOf('/') + 1).replaceFirst("\\.[^.]*$", "");
      if (config.distributed()) {
        spark.sparkContext().setJobDescription("sparkgpt eval classification " + name);
      }
      TaskResult r = ClassificationTask.evaluate(config.distributed()
          ? JavaSparkContext.fromSparkContext(spark.sparkContext()) : null, config.checkpoint(), file,
          config.limit(), config.batchSize(), config.partitions(), hadoop);
      results.put(name, r);
      console.printf(Locale.ROOT, "eval: %-20s %5d examples in %.1f s (%.1f examples/s) | acc %.4f | loss %.4f%n",
          name, r.n(), r.seconds(), r.n() / r.seconds(), r.acc(), r.loss());
    }
    return results;
  }

  private static Map<String, PerplexityResult> scorePerplexity(EvalConfig config, Tokenizer tokenizer,
      ScoringModel model, RequestRunner runner, Configuration hadoop, PrintStream console) {
    Map<String, PerplexityResult> results = new LinkedHashMap<>();
    for (String path : config.perplexity()) {
      if (runner instanceof SparkRunner spark) {
        spark.describe("sparkgpt eval perplexity " + path);
      }
      PerplexityResult r;
      try (Progress bar = requestBar("eval perplexity", runner)) {
        r = Perplexity.evaluate(path, config.perplexitySplit(), config.perplexityMaxRows(), config.perplexityStride(),
            tokenizer, model, runner, hadoop);
      }
      results.put(path, r);
      console.printf(Locale.ROOT, "eval: %s | %,d tokens in %.1f s | perplexity %.3f, %.4f bits/byte%n", path,
          r.tokens(), r.seconds(), r.perplexity(), r.bitsPerByte());
    }
    return results;
  }

  /** A bar over the requests {@code runner} is given from now on (their count is known once scoring starts). */
  private static Progress requestBar(String name, RequestRunner runner) {
    RequestRunner.Tally before = runner.tally();
    return Progress.start(new Progress.Spec(name, () -> runner.tally().requested() - before.requested(), "requests",
        1, () -> runner.tally().scored() - before.scored(), () -> "", false));
  }

  private static String describeParallelism(SparkSession spark, EvalConfig config) {
    int partitions = config.partitions() > 0 ? config.partitions() : spark.sparkContext().defaultParallelism();
    return partitions + " partitions";
  }
}
