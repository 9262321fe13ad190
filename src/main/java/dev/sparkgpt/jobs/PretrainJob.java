package dev.sparkgpt.jobs;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.train.GptModelFactory;
import dev.sparkgpt.train.LocalEngine;
import dev.sparkgpt.train.ParameterAveragingEngine;
import dev.sparkgpt.train.PretrainData;
import dev.sparkgpt.train.StepModel;
import dev.sparkgpt.train.TrainingEngine;
import dev.sparkgpt.train.TrainingLoop;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Pretrains a GPT from token shards (or a text file): locally, or data-parallel on Spark executors by parameter
 * averaging. Writes metrics.jsonl and step-NNNNNN checkpoints under out_dir and resumes from them.
 *
 * <p>Usage: {@code sparkgpt pretrain --config conf/pretrain/tiny-shakespeare.yaml [--set train.max_steps=100]};
 * under spark-submit: {@code --class dev.sparkgpt.jobs.PretrainJob sparkgpt.jar <same args>}.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Pretrain a GPT on token shards or a text file (local or parameter averaging on Spark).")
public final class PretrainJob implements Callable<Integer> {
  @Mixin
  JobOptions options = new JobOptions();

  @Option(names = "--out-dir", paramLabel = "DIR", description = "Run directory (metrics, checkpoints).")
  String outDir;

  @Option(names = "--resume", paramLabel = "auto|never|DIR", description = "Where to continue from.")
  String resume;

  public static void main(String[] args) {
    System.exit(Jobs.execute(new PretrainJob(), args));
  }

  @Override
  public Integer call() {
    Map<String, Object> flags = new LinkedHashMap<>();
    flags.put("out_dir", outDir);
    flags.put("resume", resume);
    PretrainConfig config = options.resolve(PretrainConfig.class, PretrainConfig.defaults(), flags).validate();
    ModelConfig model = ModelConfigs.resolve(config.modelName(), config.model());
    if (options.dryRun()) {
      Tokenizer tok = TokenizerSpec.resolve(config.data().tokenizer(), HadoopConf.create()).get();
      PretrainData.load(config.data(), model.contextLength(), model.vocabSize(), tok, HadoopConf.create());
      System.out.print(ConfigLoader.toYaml(model));
      return Jobs.dryRun(config, "config, model and data valid");
    }
    // the local strategy needs no Spark: it starts faster and leaves every core to the math
    Jobs.withSession("sparkgpt-pretrain", !"local".equals(config.train().strategy()),
        spark -> run(spark, config, System.out));
    return 0;
  }

  /** The engine of {@code config.train().strategy()} over {@code data}'s train windows, driving {@code model}. */
  public static TrainingEngine engine(SparkSession spark, PretrainConfig config, PretrainData data,
      GptModelFactory factory, StepModel model) {
    PretrainConfig.Train t = config.train();
    if ("parameter_averaging".equals(t.strategy())) {
      if (spark == null) {
        throw new IllegalArgumentException("parameter_averaging needs a Spark session");
      }
      return new ParameterAveragingEngine(JavaSparkContext.fromSparkContext(spark.sparkContext()), factory, model,
          data.train(), config.seed(), config.data().shuffle(), t.workers(), t.averagingFrequency(),
          t.microBatchSize(), t.accumulationSteps());
    }
    return new LocalEngine(model, data.train(), config.seed(), config.data().shuffle(), t.microBatchSize(),
        t.accumulationSteps());
  }

  /** Trains as configured; {@code spark} may be null for the local strategy. */
  public static TrainingLoop.Result run(SparkSession spark, PretrainConfig config, PrintStream console) {
    config.validate();
    ModelConfig modelConfig = ModelConfigs.resolve(config.modelName(), config.model());
    Configuration conf = spark == null ? HadoopConf.create() : spark.sparkContext().hadoopConfiguration();
    Tokenizer tok = TokenizerSpec.resolve(config.data().tokenizer(), conf).get();
    PretrainData data = PretrainData.load(config.data(), modelConfig.contextLength(), modelConfig.vocabSize(), tok,
        conf);
    GptModelFactory factory = new GptModelFactory(modelConfig, config.optimizer(), config.seed());
    StepModel model = factory.create();
    PretrainConfig.Train t = config.train();
    TrainingEngine engine = engine(spark, config, data, factory, model);
    console.printf("pretrain: %s, model %s (%s) from %s -> %s%n", t.strategy(), config.modelName(),
        ConfigLoader.toYaml(modelConfig).replace("\n", " ").trim(), data.source(), config.outDir());
    if (data.val().size() > 0) {
      console.printf("pretrain: baseline to beat: a unigram model of the train tokens has val loss %.3f%n",
          dev.sparkgpt.data.TrainingWindows.unigramLoss(data.train(), data.val(), modelConfig.vocabSize()));
    }
    return new TrainingLoop(config, engine, data.val(), tok, ModelConfigs.describe(modelConfig), conf, console).run();
  }
}
