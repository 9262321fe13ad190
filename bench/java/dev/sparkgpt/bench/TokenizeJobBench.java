package dev.sparkgpt.bench;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.jobs.Jobs;
import dev.sparkgpt.jobs.TokenizeJob;
import dev.sparkgpt.tokenizer.TextSplitter;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.sql.SparkSession;

/**
 * Tokenize job end to end on local[2] vs the encoder alone on 2 threads, same corpus, same JVM (goal ≥ 0.8×).
 * Usage: bench/run TokenizeJobBench [corpus.txt] [repeats]
 */
public final class TokenizeJobBench {
  public static void main(String[] args) throws Exception {
    Path corpus = Path.of(args.length > 0 ? args[0] : "../shared/data/corpora/sotu-1790-2021.txt");
    if (!Files.exists(corpus)) {
      corpus = Path.of("src/main/resources/data/corpora/tinyshakespeare.txt");
    }
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    String text = Files.readString(corpus);
    double mb = Files.size(corpus) / 1e6;
    System.out.printf("corpus %s: %.1f MB, %d cores, OPENBLAS_CORETYPE=%s%n", corpus, mb,
        Runtime.getRuntime().availableProcessors(), System.getenv("OPENBLAS_CORETYPE"));

    // Baseline: the encoder alone on 2 threads, text cut where ids cannot change.
    Tokenizer tok = Tokenizers.load("gpt2");
    List<String> pieces = TextSplitter.split(text, Math.max(1 << 16, text.length() / 64));
    double encoderBest = Double.MAX_VALUE;
    long tokens = 0;
    ExecutorService pool = Executors.newFixedThreadPool(2);
    for (int r = 0; r < repeats + 1; r++) {
      long t0 = System.nanoTime();
      List<Future<Integer>> parts = pieces.stream().map(p -> pool.submit(() -> tok.encode(p).length)).toList();
      long n = 0;
      for (Future<Integer> f : parts) {
        n += f.get();
      }
      double s = (System.nanoTime() - t0) / 1e9;
      tokens = n;
      if (r > 0) {
        encoderBest = Math.min(encoderBest, s);
      }
    }
    pool.shutdown();
    System.out.printf("encoder alone, 2 threads: %.3f s best of %d = %.1f MB/s (%,d tokens)%n", encoderBest, repeats,
        mb / encoderBest, tokens);

    System.setProperty("spark.master", "local[2]");
    SparkSession spark = Jobs.session("sparkgpt-bench");
    Path out = Files.createTempDirectory("tokenize-bench");
    boolean stages = Boolean.getBoolean("bench.stages");
    if (stages) {
      spark.sparkContext().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
        @Override
        public void onStageCompleted(org.apache.spark.scheduler.SparkListenerStageCompleted e) {
          var info = e.stageInfo();
          long ms = (long) info.completionTime().get() - (long) info.submissionTime().get();
          System.out.printf("  stage %d %-60s %5d ms, %d tasks%n", info.stageId(),
              info.name().substring(0, Math.min(60, info.name().length())), ms, info.numTasks());
        }
      });
    }
    double jobBest = Double.MAX_VALUE;
    PrintStream console = System.out;
    for (int r = 0; r < repeats + 1; r++) {
      TokenizeConfig config = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
          java.util.stream.Stream.concat(java.util.stream.Stream.of("seq_len=1024", "overwrite=true", "split=tokens"), java.util.Arrays.stream(args).skip(2)).toList(),
          Map.of("input", List.of(corpus.toString()), "output", out.resolve("shards").toString()), null);
      long t0 = System.nanoTime();
      TokenizeJob.run(spark, config, console);
      double s = (System.nanoTime() - t0) / 1e9;
      if (r > 0) {
        jobBest = Math.min(jobBest, s);
      }
    }
    spark.stop();
    System.out.printf("tokenize job, local[2]:  %.3f s best of %d = %.1f MB/s%n", jobBest, repeats, mb / jobBest);
    System.out.printf("RATIO job / encoder-alone = %.2f (goal >= 0.80)%n", encoderBest / jobBest);
  }
}
