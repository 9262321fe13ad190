package dev.sparkgpt.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.jobs.Jobs;
import dev.sparkgpt.jobs.PretrainJob;
import dev.sparkgpt.jobs.TokenizeJob;
import dev.sparkgpt.train.TrainingLoop;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;

/**
 * DiLoCo vs parameter averaging at equal tokens: Tiny Shakespeare shards, gpt2-tiny, 2 workers on local[2], the same
 * steps, learning-rate schedule and data; {@code average} with H = 4 against {@code nesterov} (outer lr 0.7, momentum
 * 0.9) with H = 50. Prints both final validation losses (the whole validation split) and the bytes each exchanged
 * (round_bytes of the run's metrics.jsonl × rounds). Goal: nesterov within 2% of average with ≥ 10× fewer bytes.
 * A third run, {@code average} at the nesterov run's H, shows what the outer momentum itself buys.
 * Usage: OMP_NUM_THREADS=1 bench/run ConvergenceBench [steps (400)] [H nesterov (50)] [H average (4)] [batch (8)]
 *     [outer_lr (0.7)] [runs: "all" (default) or "nesterov" for the nesterov configuration alone]
 *     [outer_momentum (0.9)]
 */
public final class ConvergenceBench {
  private ConvergenceBench() {}

  record Run(String name, TrainingLoop.Result result, double roundBytes, long rounds, double seconds) {
    double bytes() {
      return roundBytes * rounds;
    }
  }

  public static void main(String[] args) {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 400;
    int hNesterov = args.length > 1 ? Integer.parseInt(args[1]) : 50;
    int hAverage = args.length > 2 ? Integer.parseInt(args[2]) : 4;
    int batch = args.length > 3 ? Integer.parseInt(args[3]) : 8;
    double outerLr = args.length > 4 ? Double.parseDouble(args[4]) : 0.7;
    boolean nesterovOnly = args.length > 5 && "nesterov".equals(args[5]);
    double outerMomentum = args.length > 6 ? Double.parseDouble(args[6]) : 0.9;
    Path root = Path.of("target/convergence-bench");
    SparkSession spark = Jobs.session("convergence-bench");
    PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
    try {
      String shards = root.resolve("shards").toString();
      TokenizeJob.run(spark, ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(),
          Path.of("conf/tokenize/tiny-shakespeare.yaml"), List.of("output=" + shards), null).validate(), quiet);
      System.out.printf("%d cores, gpt2-tiny (drop 0), Tiny Shakespeare shards, 2 workers, %d steps of %d x 128 tokens"
          + " per worker, eval on the whole validation split%n", Runtime.getRuntime().availableProcessors(), steps,
          batch);
      Run nesterov = run(spark, root, shards, "nesterov", hNesterov, steps, batch, outerLr, outerMomentum);
      if (nesterovOnly) {
        System.out.printf("%nnesterov, H=%d, outer_lr %s, momentum %s: val loss %.4f, train %.4f, %d rounds, %.0f"
            + " bytes%n", hNesterov, outerLr, outerMomentum, nesterov.result().valLoss(), nesterov.result().trainLoss(), nesterov.rounds(), nesterov.bytes());
        return;
      }
      Run average = run(spark, root, shards, "average", hAverage, steps, batch, outerLr, outerMomentum);
      Run averageSlow = run(spark, root, shards, "average", hNesterov, steps, batch, outerLr, outerMomentum);
      System.out.println();
      System.out.printf("%-24s %10s %10s %8s %16s %10s%n", "outer optimizer", "val loss", "train", "rounds",
          "bytes exchanged", "seconds");
      for (Run r : List.of(average, nesterov, averageSlow)) {
        System.out.printf("%-24s %10.4f %10.4f %8d %16.0f %10.0f%n", r.name(), r.result().valLoss(),
            r.result().trainLoss(), r.rounds(), r.bytes(), r.seconds());
      }
      System.out.println();
      System.out.printf("val loss nesterov / average: %.4f (goal ≤ 1.02); bytes average / nesterov: %.1fx "
          + "(goal ≥ 10x); tokens: %,d vs %,d%n", nesterov.result().valLoss() / average.result().valLoss(),
          average.bytes() / nesterov.bytes(), average.result().tokensSeen(), nesterov.result().tokensSeen());
      System.out.printf("at H=%d: nesterov / average val loss %.4f%n", hNesterov,
          nesterov.result().valLoss() / averageSlow.result().valLoss());
    } finally {
      spark.stop();
    }
  }

  private static Run run(SparkSession spark, Path root, String shards, String outer, int h, int steps, int batch,
      double outerLr, double outerMomentum) {
    Path out = root.resolve(outer + "-h" + h);
    PretrainConfig config = ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(),
        Path.of("conf/pretrain/tiny-shakespeare.yaml"), List.of("out_dir=" + out, "data.shards=" + shards,
            "model.drop_rate=0", "train.strategy=parameter_averaging", "train.workers=2",
            "train.averaging_frequency=" + h, "train.micro_batch_size=" + batch, "train.outer_lr=" + outerLr,
            "train.outer_momentum=" + outerMomentum,
            "train.global_batch_size=" + batch, "train.outer_optimizer=" + outer, "train.max_steps=" + steps,
            "train.max_seconds=0", "train.save_interval=" + steps, "train.log_interval=" + h,
            "eval.interval=" + steps, "eval.max_iters=1000", "eval.prompt=", "resume=never"), null);
    deleteRecursively(out);
    long start = System.nanoTime();
    TrainingLoop.Result result = PretrainJob.run(spark, config, System.out);
    double seconds = (System.nanoTime() - start) / 1e9;
    double roundBytes = 0;
    try {
      List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
      JsonNode last = JsonFiles.MAPPER.readTree(lines.get(lines.size() - 1));
      roundBytes = last.path("round_bytes").asDouble();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Run(outer + ", H=" + h + ("nesterov".equals(outer) ? ", lr " + outerLr + ", mu " + outerMomentum : ""), result, roundBytes, (steps + h - 1) / h, seconds);
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
