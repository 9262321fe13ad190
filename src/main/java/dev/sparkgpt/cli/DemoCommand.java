package dev.sparkgpt.cli;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.EvalConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.eval.EvalReport;
import dev.sparkgpt.eval.GptScoringModel;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.jobs.EvalJob;
import dev.sparkgpt.jobs.Jobs;
import dev.sparkgpt.jobs.PretrainJob;
import dev.sparkgpt.jobs.TokenizeJob;
import dev.sparkgpt.report.RunMetrics;
import dev.sparkgpt.report.RunReport;
import dev.sparkgpt.train.TrainingLoop;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sparkgpt demo}: the pipeline on the bundled Tiny Shakespeare in Spark local mode — tokenize, pretrain a
 * tiny GPT for a few minutes, sample from it, evaluate it (perplexity + a multiple-choice set) — and where it all went.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the pipeline on bundled data (Spark local mode) and print where everything went.")
public final class DemoCommand implements Callable<Integer> {
  @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/demo",
      description = "Where the demo writes (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--quick", description = "A smaller, faster run (about 2 minutes; used by the end-to-end test).")
  boolean quick;

  @Option(names = "--minutes", defaultValue = "4", description = "Pretraining time budget (default: ${DEFAULT-VALUE}).")
  double minutes;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  /** The repository root: -Dsparkgpt.home (set by bin/sparkgpt), else the current directory. */
  static Path home() {
    return Path.of(System.getProperty("sparkgpt.home", "."));
  }

  /** What the demo produced, for the end-to-end test. */
  public record Outputs(Manifest shards, TrainingLoop.Result training, EvalReport report) {}

  @Override
  public Integer call() {
    Jobs.withSession("sparkgpt-demo", true, spark -> run(spark, out, quick, minutes));
    return 0;
  }

  /** Runs every stage into {@code out}. */
  public static Outputs run(SparkSession spark, Path out, boolean quick, double minutes) {
    Path shards = out.resolve("shards");
    Path pretrain = out.resolve("pretrain");
    Path report = pretrain.resolve("eval/report.json"); // inside the run: `sparkgpt report` charts it too
    System.out.println("== 1/5 tokenize: Tiny Shakespeare -> " + shards);
    TokenizeConfig tokenize = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(),
        home().resolve("conf/tokenize/tiny-shakespeare.yaml"), List.of(),
        Map.of("input", List.of(home().resolve("src/main/resources/data/corpora/tinyshakespeare.txt").toString()),
            "output", shards.toString()), null);
    Manifest manifest = TokenizeJob.run(spark, tokenize, System.out);

    System.out.println("== 2/5 pretrain: gpt2-tiny on the shards -> " + pretrain);
    List<String> sets = quick
        ? List.of("train.max_steps=30", "train.max_seconds=0", "eval.interval=15", "train.save_interval=15",
            "train.micro_batch_size=4", "train.global_batch_size=4",
            "train.lr_warmup_steps=5", "model.context_length=64", "eval.max_new_tokens=15", "train.log_interval=10")
        : List.of("train.max_steps=0", "train.max_seconds=" + (minutes * 60), "train.max_tokens=400000");
    PretrainConfig train = ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(),
        home().resolve("conf/pretrain/tiny-shakespeare.yaml"), sets,
        Map.of("out_dir", pretrain.toString(), "data.shards", shards.toString()), null);
    TrainingLoop.Result result = PretrainJob.run(null, train, System.out);

    System.out.println("== 3/5 eval: val perplexity + COPA (multiple choice) -> " + report);
    EvalConfig eval = ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), null,
        List.of("perplexity_max_rows=" + (quick ? 16 : 128), quick ? "limit=20" : "limit=-1"),
        Map.of("checkpoint", pretrain.toString(), "tasks",
            List.of(home().resolve("src/main/resources/data/eval/copa.jsonl").toString()),
            "perplexity", List.of(shards.toString()), "out", report.toString()), null);
    EvalReport evaluated = EvalJob.run(spark, eval, GptScoringModel.factory(pretrain.toString()), System.out);

    Path charts = pretrain.resolve("report");
    System.out.println("== 4/5 report: charts of the run -> " + charts);
    RunReport.Result drawn = RunReport.write(RunMetrics.load(pretrain), charts.toString(), false,
        HadoopConf.create());
    System.out.println("== 5/5 done. Where everything went:");
    System.out.printf("  shards     %s  (%,d train / %,d val tokens; bin/sparkgpt shards inspect %s)%n", shards,
        manifest.splits().get("train").tokens(), manifest.splits().get("val").tokens(), shards);
    System.out.printf("  model      %s  (step %d, %,d tokens seen, val loss %s; metrics.jsonl, step-*/)%n", pretrain,
        result.step(), result.tokensSeen(), result.valLoss() == null ? "n/a" : String.format("%.3f",
            result.valLoss()));
    System.out.printf("  eval       %s%n", report);
    System.out.printf("  report     %s/report.html (%d charts)%n", charts, drawn.files().size() - 1);
    System.out.printf("  try        bin/sparkgpt generate --checkpoint %s --prompt \"ROMEO:\" --temperature 0.8 "
        + "--top-k 40%n", pretrain);
    return new Outputs(manifest, result, evaluated);
  }
}
