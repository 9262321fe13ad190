package dev.sparkgpt.jobs;

import dev.sparkgpt.config.OuterUpdate;
import dev.sparkgpt.config.ExchangeDtype;

import dev.sparkgpt.train.MemoryPlan;
import dev.sparkgpt.train.WorkerStateLostException;
import dev.sparkgpt.train.Exchange;
import dev.sparkgpt.train.OuterOptimizer;
import dev.sparkgpt.train.AveragingRounds;
import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.config.Strategy;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.finetune.BaseModels;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.train.GptModelFactory;
import dev.sparkgpt.train.LocalEngine;
import dev.sparkgpt.train.ParameterAveragingEngine;
import dev.sparkgpt.train.PretrainData;
import dev.sparkgpt.train.StepModel;
import dev.sparkgpt.train.TrainingEngine;
import dev.sparkgpt.train.Pretraining;
import dev.sparkgpt.train.TrainingLoop;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Pretrains a GPT from token shards (or a text file): locally, or data-parallel on Spark executors by parameter
 * averaging, from a fresh initialisation or from a checkpoint's weights (init_from). Writes metrics.jsonl and
 * step-NNNNNN checkpoints under out_dir and resumes from them.
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

  @Option(names = "--init-from", paramLabel = "DIR", description = "Start from these weights at step 0: a SparkGPT "
      + "run/step directory or a Hugging Face GPT-2/Llama directory (its architecture replaces model_name).")
  String initFrom;

  public static void main(String[] args) {
    System.exit(Jobs.execute(new PretrainJob(), args));
  }

  /** Val windows evaluation reads: eval.max_iters micro-batches. */
  static long valWindows(PretrainConfig config) {
    return (long) config.eval().maxIters() * config.train().microBatchSize();
  }

  @Override
  public Integer call() {
    Map<String, Object> flags = new LinkedHashMap<>();
    flags.put("out_dir", outDir);
    flags.put("resume", resume);
    flags.put("init_from", initFrom);
    PretrainConfig config = options.resolve(PretrainConfig.class, PretrainConfig.defaults(), flags).validate();
    if (options.dryRun()) {
      Tokenizer tok = TokenizerSpec.resolve(config.data().tokenizer(), HadoopConf.create()).get();
      ModelConfig model = start(config, tok).config();
      PretrainData data = PretrainData.load(config.data(), model.contextLength(), model.vocabSize(), tok,
          valWindows(config), HadoopConf.create());
      System.out.printf("data: %s: %,d train windows in %,d blocks%n", data.source(),
          data.train().windows(), data.train().blocks());
      System.out.print(ConfigLoader.toYaml(model));
      MemoryPlan plan = memoryPlan(config, model, new org.apache.spark.SparkConf(true));
      plan.describe().forEach(System.out::println);
      checkMemory(plan, new org.apache.spark.SparkConf(true));
      return Jobs.dryRun(config, "config, model and data valid");
    }
    // the local strategy needs no Spark: it starts faster and leaves every core to the math
    Jobs.withSession("sparkgpt-pretrain", config.train().strategy().distributed(),
        spark -> run(spark, config, System.out));
    return 0;
  }

  /** The engine of {@code config.train().strategy()} over {@code data}'s train windows, driving {@code model}. */
  public static TrainingEngine engine(SparkSession spark, PretrainConfig config, PretrainData data,
      GptModelFactory factory, StepModel model) {
    return engine(spark, config, data, factory, model, false);
  }

  /** As above; {@code recovering}: after a lost executor, fewer cores than workers are accepted (waves). */
  static TrainingEngine engine(SparkSession spark, PretrainConfig config, PretrainData data,
      GptModelFactory factory, StepModel model, boolean recovering) {
    PretrainConfig.Train t = config.train();
    if (t.strategy() == Strategy.PARAMETER_AVERAGING) {
      if (spark == null) {
        throw new IllegalArgumentException("parameter_averaging needs a Spark session");
      }
      return ParameterAveragingEngine.builder(JavaSparkContext.fromSparkContext(spark.sparkContext()), factory,
              model, data.train())
          .seed(config.seed()).shuffle(config.data().shuffle())
          .workers(t.workers()).frequency(t.averagingFrequency())
          .microBatch(t.microBatchSize()).accumulation(t.accumulationSteps())
          .exchange(new AveragingRounds.Settings(t.outerOptimizer(), t.outerLr(), t.outerMomentum(),
              t.exchangeDtype(), recovering))
          .build();
    }
    return new LocalEngine(model, data.train(), config.seed(), config.data().shuffle(), t.microBatchSize(),
        t.accumulationSteps());
  }

  /** What a run starts from: the model's config and, with init_from, its weights (null: initialised from seed). */
  public record Start(ModelConfig config, Map<String, INDArray> weights) {}

  /**
   * The model of {@code config}: model_name + model overrides, initialised from the seed; or with init_from, that
   * checkpoint's architecture and weights (model overrides may change drop_rate only; the checkpoint must fit
   * {@code tok}, the shards' tokenizer, as a finetune's base must).
   */
  public static Start start(PretrainConfig config, Tokenizer tok) {
    String from = config.initFrom();
    if (from == null) {
      return new Start(ModelConfigs.resolve(config.modelName(), config.model()), null);
    }
    Checkpoint ck = Checkpoint.open(from, HadoopConf.create(), "init_from");
    GptModel loaded = ck.model();
    ModelConfig saved = loaded.config();
    if (saved.numClasses() > 0) {
      throw new ConfigException("init_from", from + " is a classifier (num_classes=" + saved.numClasses() + "), not a "
          + "language model", "start from the pretrained checkpoint it was finetuned from");
    }
    ModelConfig wanted = withOverrides(saved, config.model(), from);
    BaseModels.checkTokenizer(ck, wanted, tok);
    return new Start(wanted, loaded.parameters().toMap(DataType.FLOAT));
  }

  /** {@code saved} with the model {@code overrides}; one that changes the architecture (not drop_rate) is refused. */
  static ModelConfig withOverrides(ModelConfig saved, Map<String, Object> overrides, String from) {
    ModelConfig wanted = ConfigLoader.loadWithOverrides(ModelConfig.class,
        ConfigLoader.yamlMapper().valueToTree(saved), from, overrides, "model");
    Map<String, Object> before = ModelConfigs.describe(saved);
    Map<String, Object> after = ModelConfigs.describe(wanted);
    List<String> changed = new ArrayList<>();
    before.forEach((key, value) -> {
      if (!"drop_rate".equals(key) && !Objects.equals(value, after.get(key))) {
        changed.add("model." + key + " " + value + " -> " + after.get(key));
      }
    });
    if (!changed.isEmpty()) {
      throw new ConfigException("model", "init_from " + from + " fixes the architecture, but the overrides change "
          + String.join(", ", changed), "drop those overrides (only model.drop_rate may change), or remove init_from"
          + " to train model_name from scratch");
    }
    return wanted;
  }

  /** Recoveries from a lost executor (each resumes from the last checkpoint) before a run gives up. */
  static final int MAX_RECOVERIES = 3;

  /**
   * Trains as configured; {@code spark} may be null for the local strategy. When an executor that held workers'
   * moments is lost, the run resumes from its last checkpoint (the same result as without the loss), up to
   * {@value #MAX_RECOVERIES} times.
   */
  public static TrainingLoop.Result run(SparkSession spark, PretrainConfig config, PrintStream console) {
    PretrainConfig attempt = config;
    for (int recovery = 1; ; recovery++) {
      try {
        return runOnce(spark, attempt, console, recovery > 1);
      } catch (WorkerStateLostException e) {
        if (recovery > MAX_RECOVERIES) {
          throw e;
        }
        console.printf("pretrain: %s; resuming from the last checkpoint of %s (recovery %d of %d)%n", e.getMessage(),
            config.outDir(), recovery, MAX_RECOVERIES);
        attempt = new PretrainConfig(config.outDir(), config.modelName(), config.model(), config.data(),
            config.train(), config.optimizer(), config.eval(), config.seed(), "auto", config.initFrom());
      }
    }
  }

  /** The memory plan of {@code config} under Spark configuration {@code spark} (its master decides local mode). */
  static MemoryPlan memoryPlan(PretrainConfig config, ModelConfig model, org.apache.spark.SparkConf spark) {
    boolean local = spark.get("spark.master", "local[*]").startsWith("local");
    boolean averaging = config.train().strategy() == Strategy.PARAMETER_AVERAGING;
    return MemoryPlan.of(config, model, averaging && local ? config.train().workers() : 0);
  }

  /** Refuses a run whose plan exceeds this JVM's heap / off-heap limits or spark.driver.maxResultSize. */
  static void checkMemory(MemoryPlan plan, org.apache.spark.SparkConf spark) {
    long maxResult = org.apache.spark.network.util.JavaUtils.byteStringAsBytes(
        spark.get("spark.driver.maxResultSize", "1g"));
    plan.check(org.bytedeco.javacpp.Pointer.maxBytes(), Runtime.getRuntime().maxMemory(), maxResult);
  }

  private static TrainingLoop.Result runOnce(SparkSession spark, PretrainConfig config, PrintStream console,
      boolean recovering) {
    config.validate();
    Configuration conf = spark == null ? HadoopConf.create() : spark.sparkContext().hadoopConfiguration();
    Tokenizer tok = TokenizerSpec.resolve(config.data().tokenizer(), conf).get();
    Start start = start(config, tok);
    ModelConfig modelConfig = start.config();
    checkMemory(memoryPlan(config, modelConfig, spark == null ? new org.apache.spark.SparkConf(true)
        : spark.sparkContext().getConf()), spark == null ? new org.apache.spark.SparkConf(true)
        : spark.sparkContext().getConf());
    PretrainData data = PretrainData.load(config.data(), modelConfig.contextLength(), modelConfig.vocabSize(), tok,
        valWindows(config),
        conf);
    GptModelFactory factory = new GptModelFactory(modelConfig, config.optimizer(), config.seed());
    StepModel model = factory.create();
    if (start.weights() != null) {
      model.restore(start.weights(), Map.of(), model.rngState()); // step 0: fresh optimizer, the seed's dropout
    }
    PretrainConfig.Train t = config.train();
    TrainingEngine engine = engine(spark, config, data, factory, model, recovering);
    console.printf("pretrain: %s, model %s (%s) from %s -> %s%n", t.strategy(), config.initFrom() == null
        ? config.modelName() : "of init_from " + config.initFrom(),
        ConfigLoader.toYaml(modelConfig).replace("\n", " ").trim(), data.source(), config.outDir());
    if (data.val().size() > 0) {
      console.printf("pretrain: baseline to beat: a unigram model of the train tokens (at most the first 2M) has val loss"
          + " %.3f%n",
          data.unigramBaseline(modelConfig.vocabSize()));
    }
    try {
      return new Pretraining(config, engine, data.val(), tok, ModelConfigs.describe(modelConfig), conf, console)
          .run();
    } finally {
      if (engine instanceof ParameterAveragingEngine averaging) {
        averaging.close();
      }
    }
  }
}
