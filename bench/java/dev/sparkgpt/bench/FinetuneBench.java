package dev.sparkgpt.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ClassifyConfig;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.finetune.ClassifyFinetune;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.jobs.Jobs;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Classification finetune throughput (conf/finetune/spam.yaml: gpt2-tiny from random, SMS spam, batch 8, trainable
 * all): training examples/s of one epoch with the local loop and with parameter averaging on local[2] (1 and 2
 * workers), same JVM, data and model; plus the test accuracy each run reaches. Workers compute on one core each:
 * Usage: OMP_NUM_THREADS=1 bench/run FinetuneBench [averaging_frequency (default 4)] [epochs (default 1)]
 */
public final class FinetuneBench {
  private FinetuneBench() {}

  public static void main(String[] args) throws IOException {
    int frequency = args.length > 0 ? Integer.parseInt(args[0]) : 4;
    int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    System.out.printf("%d cores, OMP_NUM_THREADS=%s, conf/finetune/spam.yaml (gpt2-tiny from random, batch 8), "
        + "%d epoch(s), averaging_frequency %d%n", Runtime.getRuntime().availableProcessors(),
        System.getenv("OMP_NUM_THREADS"), epochs, frequency);
    Path tmp = Files.createTempDirectory("finetune-bench");
    SparkSession spark = Jobs.session("finetune-bench");
    try {
      double[] local = run(spark, tmp.resolve("local"), epochs, "train.strategy=local");
      double[] one = run(spark, tmp.resolve("one"), epochs, "train.strategy=parameter_averaging", "train.workers=1",
          "train.averaging_frequency=" + frequency);
      double[] two = run(spark, tmp.resolve("two"), epochs, "train.strategy=parameter_averaging", "train.workers=2",
          "train.averaging_frequency=" + frequency);
      System.out.printf("%n%-30s %12s %10s%n", "setup", "examples/s", "test acc");
      System.out.printf("%-30s %12.1f %9.1f%%%n", "local loop", local[0], 100 * local[1]);
      System.out.printf("%-30s %12.1f %9.1f%%%n", "averaging, 1 worker", one[0], 100 * one[1]);
      System.out.printf("%-30s %12.1f %9.1f%%%n", "averaging, 2 workers", two[0], 100 * two[1]);
      System.out.printf("%n2 workers vs local loop: %.2fx; 1 worker vs local: %.2fx%n", two[0] / local[0],
          one[0] / local[0]);
    } finally {
      spark.stop();
    }
  }

  /** Mean training examples/s over the epochs (epoch lines of metrics.jsonl) and the final test accuracy. */
  private static double[] run(SparkSession spark, Path out, int epochs, String... sets) throws IOException {
    List<String> all = new ArrayList<>(List.of(sets));
    all.add("train.epochs=" + epochs);
    ClassifyConfig config = ConfigLoader.load(ClassifyConfig.class, ClassifyConfig.defaults(),
        Path.of("conf/finetune/spam.yaml"), all, Map.of("out_dir", out.toString()), null).validate();
    ClassifyFinetune.Result r = ClassifyFinetune.run(spark, config, new PrintStream(OutputStream.nullOutputStream()));
    double rate = 0;
    int n = 0;
    for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
      JsonNode node = JsonFiles.MAPPER.readTree(line);
      if (node.has("epoch") && node.has("examples_per_sec")) {
        rate += node.get("examples_per_sec").asDouble();
        n++;
      }
    }
    return new double[] {rate / n, r.test().accuracy()};
  }
}
