package dev.sparkgpt.jobs;

import dev.sparkgpt.config.ClassifyConfig;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.EvalConfig;
import dev.sparkgpt.config.FinetuneKind;
import dev.sparkgpt.config.InstructConfig;
import dev.sparkgpt.config.PipelineConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.config.TrainTokenizerConfig;
import dev.sparkgpt.data.InputFiles;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.eval.EvalReport;
import dev.sparkgpt.eval.GptScoringModel;
import dev.sparkgpt.finetune.ClassifyFinetune;
import dev.sparkgpt.finetune.InstructFinetune;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.OutputDir;
import dev.sparkgpt.report.RunMetrics;
import dev.sparkgpt.report.RunReport;
import dev.sparkgpt.train.TrainingLoop;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Runs the whole chain on a user's corpus: tokenize → pretrain → [finetune] → eval → report, each stage's job
 * configured by its own YAML + overrides (conf/pipeline/*.yaml), every output under out_dir. A re-run skips the
 * stages whose output is complete (_SUCCESS, report.json, report.html) and resumes a crashed pretrain from its
 * checkpoint; removing one stage's output re-runs it and every stage after it.
 *
 * <p>Usage: {@code sparkgpt pipeline --config conf/pipeline/verdict.yaml [--set pretrain.set.train.max_steps=20]
 * [--force]}; under spark-submit: {@code --class dev.sparkgpt.jobs.PipelineJob sparkgpt.jar <same args>}.
 */
@Command(name = "pipeline", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Run tokenize -> pretrain -> [finetune] -> eval -> report on your corpus; finished stages are "
        + "skipped, a crashed pretrain resumes.")
public final class PipelineJob implements Callable<Integer> {
  @Mixin
  JobOptions options = new JobOptions();

  @Option(names = "--out-dir", paramLabel = "DIR", description = "Where every stage writes.")
  String outDir;

  @Option(names = "--force", description = "Run every stage even when its output is complete (outputs replaced).")
  boolean force;

  /** The pipeline's stage layout under out_dir. */
  public record Layout(String tokenizer, String shards, String pretrain, String evalReport, String report,
      String finetune) {
    static Layout of(String outDir) {
      String pretrain = outDir + "/pretrain";
      // eval and report inside the run: `sparkgpt report RUN_DIR` charts the eval too
      return new Layout(outDir + "/tokenizer", outDir + "/shards", pretrain, pretrain + "/eval/report.json",
          pretrain + "/" + RunReport.DEFAULT_DIR, outDir + "/finetune");
    }
  }

  /** Every stage's resolved job config, so a bad key in any of them fails before anything runs. */
  public record Resolved(PipelineConfig pipeline, Layout layout, TrainTokenizerConfig trainTokenizer,
      TokenizeConfig tokenize, PretrainConfig pretrain, Object finetune, EvalConfig eval) {}

  /** What a run produced: the stages that ran and the results of those that did (null when skipped). */
  public record Outputs(List<String> ran, Manifest shards, TrainingLoop.Result training, EvalReport report) {}

  public static void main(String[] args) {
    System.exit(Jobs.execute(new PipelineJob(), args));
  }

  @Override
  public Integer call() {
    Map<String, Object> flags = new LinkedHashMap<>();
    flags.put("out_dir", outDir);
    PipelineConfig config = options.resolve(PipelineConfig.class, PipelineConfig.defaults(), flags).validate();
    Resolved resolved = resolve(config);
    if (options.dryRun()) {
      Configuration conf = HadoopConf.create();
      int files = InputFiles.list(resolved.tokenize().input(), resolved.tokenize().format(), conf).size();
      for (String task : resolved.eval().tasks()) {
        dev.sparkgpt.eval.TaskFiles.read(task, conf);
      }
      List<StageRunner.Stage> stages = stages(null, resolved, System.out);
      List<Boolean> plan = StageRunner.plan(stages, force, conf);
      for (int i = 0; i < stages.size(); i++) {
        List<String> changed = StageRunner.changedKeys(stages.get(i), conf);
        System.out.printf("%-9s %s (%s)%n", stages.get(i).name(), !plan.get(i) ? "complete, would be skipped"
            : changed.isEmpty() ? "would run" : "would run: its config changed (" + String.join(", ", changed) + ")",
            stages.get(i).done());
      }
      return Jobs.dryRun(config, "every stage's config valid, " + files + " input files, "
          + resolved.eval().tasks().size() + " task files read");
    }
    Jobs.withSession("sparkgpt-pipeline", true, spark -> run(spark, resolved, force, System.out));
    return 0;
  }

  /** Resolves every stage's job config: its YAML, then its {@code set} overrides, then the pipeline's wiring. */
  public static Resolved resolve(PipelineConfig config) {
    config.validate();
    Layout layout = Layout.of(config.outDir());
    Map<String, Object> tokenizeWiring = new LinkedHashMap<>();
    tokenizeWiring.put("output", layout.shards());
    tokenizeWiring.put("input", config.input().isEmpty() ? null : config.input());
    TrainTokenizerConfig trainTokenizer = null;
    Map<String, Object> pretrainWiring = new LinkedHashMap<>();
    if (config.trainTokenizer() != null) {
      tokenizeWiring.put("tokenizer", layout.tokenizer());
    }
    TokenizeConfig tokenize = load(TokenizeConfig.class, TokenizeConfig.defaults(), config.tokenize(), List.of(),
        tokenizeWiring).validate();
    if (config.trainTokenizer() != null) { // trained on what tokenize reads, with its reading settings
      Map<String, Object> wiring = new LinkedHashMap<>();
      wiring.put("input", tokenize.input());
      wiring.put("output", layout.tokenizer());
      Map<String, Object> own = config.trainTokenizer().flatSet();
      Map<String, Object> reading = new LinkedHashMap<>(); // read documents as tokenize does, unless set here
      reading.put("format", tokenize.format());
      reading.put("text_field", tokenize.textField());
      reading.put("doc_separator", tokenize.docSeparator());
      reading.put("normalize_newlines", tokenize.normalizeNewlines());
      reading.forEach((key, value) -> {
        if (!own.containsKey(key)) {
          wiring.put(key, value);
        }
      });
      trainTokenizer = load(TrainTokenizerConfig.class, TrainTokenizerConfig.defaults(), config.trainTokenizer(),
          List.of(), wiring).validate();
      pretrainWiring.put("model.vocab_size", trainTokenizer.vocabSize());
    }
    pretrainWiring.putAll(Map.of("out_dir", layout.pretrain(), "data.shards", layout.shards(), "data.tokenizer",
        tokenize.tokenizer()));
    PretrainConfig pretrain = load(PretrainConfig.class, PretrainConfig.defaults(), config.pretrain(),
        List.of("data.text=null"), // the shards replace a text file the pretrain YAML may name
        pretrainWiring).validate();
    Object finetune = null;
    if (config.finetune().enabled()) {
      Map<String, Object> wiring = Map.of("out_dir", layout.finetune(), "base_checkpoint", layout.pretrain());
      finetune = config.finetune().kind() == FinetuneKind.CLASSIFY
          ? load(ClassifyConfig.class, ClassifyConfig.defaults(), config.finetune().stage(), List.of(), wiring).validate()
          : load(InstructConfig.class, InstructConfig.defaults(), config.finetune().stage(), List.of(), wiring)
              .validate();
    }
    EvalConfig eval = load(EvalConfig.class, EvalConfig.defaults(), config.eval(), List.of(),
        Map.of("checkpoint", layout.pretrain(), "out", layout.evalReport(), "tokenizer", tokenize.tokenizer()));
    if (eval.perplexity().isEmpty()) { // score the held-out split of the pipeline's own shards by default
      eval = load(EvalConfig.class, eval, new PipelineConfig.Stage(null, Map.of()), List.of(),
          Map.of("perplexity", List.of(layout.shards())));
    }
    return new Resolved(config, layout, trainTokenizer, tokenize, pretrain, finetune, eval.validate(true));
  }

  /** {@code defaults}, the stage's YAML, {@code cleared} ("key=null" overrides), its set, then the wiring. */
  private static <T> T load(Class<T> type, T defaults, PipelineConfig.Stage stage, List<String> cleared,
      Map<String, Object> wiring) {
    Map<String, Object> flags = new LinkedHashMap<>(stage.flatSet());
    flags.putAll(wiring); // wiring last: it wins (and PipelineConfig.validate refused it in set)
    return ConfigLoader.load(type, defaults, stage.config() == null ? null : Path.of(stage.config()), cleared,
        flags, null);
  }

  /** Runs the stages of {@code resolved}; {@code force}: every stage, even when complete. */
  public static Outputs run(SparkSession spark, Resolved resolved, boolean force, PrintStream console) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    StageRunner.Ran ran = StageRunner.run(stages(spark, resolved, console), force, conf, console);
    return new Outputs(ran.stages(), (Manifest) ran.results().get("tokenize"),
        (TrainingLoop.Result) ran.results().get("pretrain"), (EvalReport) ran.results().get("eval"));
  }

  /** The stage list; {@code spark} is only used when a stage's work runs. */
  static List<StageRunner.Stage> stages(SparkSession spark, Resolved r, PrintStream console) {
    Layout at = r.layout();
    List<StageRunner.Stage> stages = new ArrayList<>();
    if (r.trainTokenizer() != null) {
      stages.add(new StageRunner.Stage("tokenizer", "byte-level BPE of " + r.trainTokenizer().vocabSize()
          + " ids on the input -> " + at.tokenizer(), at.tokenizer() + "/" + OutputDir.SUCCESS, at.tokenizer(), false,
          r.trainTokenizer(), () -> TrainTokenizerJob.run(spark, r.trainTokenizer(), console)));
    }
    stages.add(new StageRunner.Stage("tokenize", String.join(",", r.tokenize().input()) + " -> " + at.shards(),
        at.shards() + "/" + OutputDir.SUCCESS, at.shards(), false, r.tokenize(),
        () -> TokenizeJob.run(spark, r.tokenize(), console)));
    stages.add(new StageRunner.Stage("pretrain", r.pretrain().modelName() + " on the shards -> " + at.pretrain(),
        at.pretrain() + "/" + OutputDir.SUCCESS, at.pretrain(), true, r.pretrain(),
        () -> PretrainJob.run(spark, r.pretrain(), console)));
    if (r.finetune() instanceof ClassifyConfig classify) {
      stages.add(new StageRunner.Stage("finetune", "classify from the pretrained model -> " + at.finetune(),
          at.finetune() + "/" + OutputDir.SUCCESS, at.finetune(), true, classify,
          () -> ClassifyFinetune.run(classify, console)));
    } else if (r.finetune() instanceof InstructConfig instruct) {
      stages.add(new StageRunner.Stage("finetune", "instruct from the pretrained model -> " + at.finetune(),
          at.finetune() + "/" + OutputDir.SUCCESS, at.finetune(), true, instruct,
          () -> InstructFinetune.run(instruct, console)));
    }
    stages.add(new StageRunner.Stage("eval", r.eval().tasks().size() + " tasks + perplexity of "
        + String.join(",", r.eval().perplexity()) + " -> " + at.evalReport(), at.evalReport(), at.evalReport(), false,
        r.eval(), () -> EvalJob.run(spark, r.eval(), GptScoringModel.factory(at.pretrain()), console)));
    if (r.pipeline().report()) {
      stages.add(new StageRunner.Stage("report", "charts of the run -> " + at.report(),
          at.report() + "/" + RunReport.HTML_FILE, null, false, null,
          () -> RunReport.write(RunMetrics.load(at.pretrain(), spark.sparkContext().hadoopConfiguration()),
              at.report(), false, spark.sparkContext().hadoopConfiguration())));
    }
    return stages;
  }
}
