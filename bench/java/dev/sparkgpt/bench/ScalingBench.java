package dev.sparkgpt.bench;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.jobs.Jobs;
import dev.sparkgpt.jobs.PretrainJob;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptModelFactory;
import dev.sparkgpt.train.PretrainData;
import dev.sparkgpt.train.StepModel;
import dev.sparkgpt.train.TrainingEngine;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Parameter averaging on Spark local[2]: tokens/s with 2 workers vs 1 (goal ≥ 1.8×) and the overhead of a round
 * with 1 worker vs the local loop (goal ≤ 10%), same model, data and JVM; with the split of a round into
 * broadcast, compute (slowest worker), aggregation + scheduling, and the driver's own time. Each worker computes on
 * one core, so run with one OpenMP thread. The local loop and 1 worker run twice, alternating; each keeps its faster
 * pass:
 * Usage: OMP_NUM_THREADS=1 bench/run ScalingBench [rounds (default 6)] [averaging_frequency (default 4)]
 */
public final class ScalingBench {
  private ScalingBench() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 6;
    int frequency = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    System.out.printf("%d cores, OMP_NUM_THREADS=%s, gpt2-tiny (emb 128, 2 layers, context 128), micro-batch 4, "
        + "averaging_frequency %d, %d timed rounds after 1 warm-up%n", Runtime.getRuntime().availableProcessors(),
        System.getenv("OMP_NUM_THREADS"), frequency, rounds);
    SparkSession spark = Jobs.session("scaling-bench");
    try {
      // local and 1 worker alternate twice and each keeps its faster pass: the overhead compares the two setups,
      // not the machine's load (or the JIT's warm-up) during one of them
      Result local = null;
      Result one = null;
      for (int pass = 0; pass < 2; pass++) {
        local = faster(local, measure(spark, config("local", 1, frequency, "f32"), rounds * frequency));
        one = faster(one, measure(spark, config("parameter_averaging", 1, frequency, "f32"), rounds));
      }
      Result two = measure(spark, config("parameter_averaging", 2, frequency, "f32"), rounds);
      Result twoBf16 = measure(spark, config("parameter_averaging", 2, frequency, "bf16"), rounds);
      System.out.println();
      System.out.printf("%-28s %10s %12s %12s %12s %12s %12s %12s%n", "setup", "tok/s", "ms/round", "broadcast",
          "compute", "tasks+agg", "of it agg", "driver");
      print("local loop (1 core)", local, frequency);
      print("averaging, 1 worker", one, 1);
      print("averaging, 2 workers", two, 1);
      print("averaging, 2 workers, bf16", twoBf16, 1);
      System.out.println();
      System.out.printf("scaling 2 workers vs 1:        %.2fx (goal ≥ 1.8x)%n", two.tokensPerSecond()
          / one.tokensPerSecond());
      System.out.printf("overhead 1 worker vs local:    %+.1f%% per round (goal ≤ 10%%)%n",
          100 * (local.tokensPerSecond() / one.tokensPerSecond() - 1));
      System.out.println();
      long tiny = ModelConfigs.resolve("gpt2-tiny", Map.of()).parameterCount();
      long base = ModelConfigs.resolve("gpt2-124m", Map.of()).parameterCount();
      System.out.printf("bytes per round, 2 workers (before this exchange: weights + both AdamW moments broadcast and"
          + " returned by each worker = 12·P + 2·12·P):%n");
      System.out.printf("  gpt2-tiny  P=%,d measured: f32 %,.0f, bf16 %,.0f; before %,d -> %.1fx / %.1fx fewer%n",
          tiny, two.split().get("round_bytes"), twoBf16.split().get("round_bytes"), 36 * tiny,
          36.0 * tiny / two.split().get("round_bytes"), 36.0 * tiny / twoBf16.split().get("round_bytes"));
      double perParamF32 = two.split().get("round_bytes") / tiny;
      double perParamBf16 = twoBf16.split().get("round_bytes") / tiny;
      System.out.printf("  gpt2-124m P=%,d (same bytes per parameter): f32 %,.0f, bf16 %,.0f; before %,d -> %.1fx"
          + " / %.1fx fewer%n", base, perParamF32 * base, perParamBf16 * base, 36 * base, 36 / perParamF32,
          36 / perParamBf16);
    } finally {
      spark.stop();
    }
  }

  private static PretrainConfig config(String strategy, int workers, int frequency, String dtype) {
    return ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), null, List.of("model_name=gpt2-tiny",
        "model.drop_rate=0", "data.text=src/main/resources/data/corpora/tinyshakespeare.txt",
        "train.strategy=" + strategy, "train.workers=" + workers, "train.averaging_frequency=" + frequency, "train.exchange_dtype=" + dtype,
        "train.micro_batch_size=4", "train.global_batch_size=4"), Map.of("out_dir", "target/scaling-bench"), null)
        .validate();
  }

  private static Result faster(Result a, Result b) {
    return a == null || b.tokensPerSecond() > a.tokensPerSecond() ? b : a;
  }

  /** Tokens/s over {@code advances} advances after one warm-up, and the mean of the engine's per-round metrics. */
  record Result(double tokensPerSecond, double msPerAdvance, Map<String, Double> split) {}

  private static Result measure(SparkSession spark, PretrainConfig config, int advances) {
    ModelConfig m = ModelConfigs.resolve(config.modelName(), config.model());
    PretrainData data = PretrainData.load(config.data(), m.contextLength(), m.vocabSize(), Tokenizers.load("gpt2"),
        0, HadoopConf.create());
    GptModelFactory factory = new GptModelFactory(m, config.optimizer(), config.seed());
    StepModel model = factory.create();
    TrainingEngine engine = PretrainJob.engine(spark, config, data, factory, model);
    long step = engine.advance(0, s -> 1e-3, 1.0).steps();
    long tokens = 0;
    Map<String, Double> sums = new LinkedHashMap<>();
    long start = System.nanoTime();
    for (int i = 0; i < advances; i++) {
      TrainingEngine.Advance a = engine.advance(step, s -> 1e-3, 1.0);
      step += a.steps();
      tokens += a.tokens();
      for (String k : List.of("broadcast_ms", "compute_ms", "averaging_ms", "aggregate_ms", "round_bytes")) {
        if (a.metrics().get(k) instanceof Number n) {
          sums.merge(k, n.doubleValue() / advances, Double::sum);
        }
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Result(tokens / seconds, 1000 * seconds / advances, sums);
  }

  private static void print(String name, Result r, int advancesPerRound) {
    double round = r.msPerAdvance() * advancesPerRound;
    List<String> cells = new ArrayList<>();
    double accounted = 0;
    for (String k : List.of("broadcast_ms", "compute_ms", "averaging_ms")) {
      Double v = r.split().get(k);
      cells.add(v == null ? "-" : String.format("%.0f ms", v));
      accounted += v == null ? 0 : v;
    }
    Double agg = r.split().get("aggregate_ms");
    cells.add(agg == null ? "-" : String.format("%.0f ms", agg));
    cells.add(r.split().isEmpty() ? "-" : String.format("%.0f ms", round - accounted));
    System.out.printf("%-28s %10.0f %9.0f ms %12s %12s %12s %12s %12s%n", name, r.tokensPerSecond(), round,
        cells.get(0), cells.get(1), cells.get(2), cells.get(3), cells.get(4));
  }
}
