package dev.sparkgpt.finetune;

import dev.sparkgpt.checkpoint.RunWriter;
import dev.sparkgpt.checkpoint.Fingerprints;
import dev.sparkgpt.checkpoint.CheckpointState;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.Progress;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.train.AveragingRounds;
import dev.sparkgpt.train.GptStepModel;
import dev.sparkgpt.train.MetricsLog;
import dev.sparkgpt.train.StepModel;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;

/**
 * The finetunes' loop: epochs over the training examples in a seeded order (a new order each epoch), one optimizer
 * step per batch, a metrics line every log_interval steps and one per epoch (docs/metrics-format.md), a checkpoint
 * after every epoch; a re-run continues after the last finished epoch with the weights, optimizer, RNG and the
 * metrics up to it, so it ends exactly where a straight run ends.
 */
public final class EpochLoop {
  /**
   * Settings shared by every finetune; {@code workers} and {@code frequency} matter under parameter averaging: each
   * round hands {@code workers × frequency} consecutive batches of the epoch's order out round-robin (the epoch's
   * last round spreads what is left), and one round counts as many optimizer steps as its busiest worker took.
   */
  public record Settings(String outDir, int epochs, int batchSize, double lr, double maxNorm, int logInterval,
      long seed, String name, int workers, int frequency) {

    /** The local strategy. */
    public Settings(String outDir, int epochs, int batchSize, double lr, double maxNorm, int logInterval, long seed,
        String name) {
      this(outDir, epochs, batchSize, lr, maxNorm, logInterval, seed, name, 1, 1);
    }
  }

  /** The batch of the given example indices. */
  public interface Batches {
    TokenBatch batch(List<Integer> rows);
  }

  /** An epoch's end: the keys its metrics line adds (validation loss, accuracies …); prints what it wants. */
  public interface EpochEnd {
    Map<String, Object> finish(int epoch, double trainLoss, double examplesPerSecond);
  }

  /** Marks the final metrics line of a finished run (e.g. test_acc), which a continued run writes anew. */
  public static final String FINAL_KEY = "final";

  private EpochLoop() {}

  /**
   * Runs the epochs not yet done and returns the optimizer steps taken in all. {@code state} goes into every
   * checkpoint's state.json (model description, labels …); {@code lastLine} (may be null) adds a final metrics line.
   * With {@code rounds} (null = local) the steps run on Spark workers and their states are averaged into {@code step}.
   */
  public static long run(Settings s, GptStepModel step, AveragingRounds rounds, int examples, Batches batches,
      EpochEnd end, Map<String, Object> state, Supplier<Map<String, Object>> lastLine, Configuration conf,
      PrintStream console) {
    try (RunWriter writer = RunWriter.open(s.outDir(), 2, conf, console)) {
      return run(s, step, rounds, examples, batches, end, state, lastLine, conf, console, writer);
    }
  }

  private static long run(Settings s, GptStepModel step, AveragingRounds rounds, int examples, Batches batches,
      EpochEnd end, Map<String, Object> state, Supplier<Map<String, Object>> lastLine, Configuration conf,
      PrintStream console, RunWriter store) {
    int epochsDone = 0;
    long steps = 0;
    Optional<CheckpointState> resumed = store.resume("auto");
    if (resumed.isPresent()) {
      JsonNode saved = resumed.get().state();
      if (rounds != null) {
        rounds.restore(resumed.get());
      } else {
        step.restore(resumed.get().weights(), resumed.get().optimizer(), saved.path("rng").asLong());
      }
      if (state.get("tokenizer") instanceof Map<?, ?> tok) {
        Fingerprints.checkTokenizer(resumed.get().dir().toString(), resumed.get().tokenizerHash(),
            String.valueOf(tok.get("hash")), String.valueOf(tok.get("name")), false, "a new out_dir");
      }
      epochsDone = saved.path("epoch").asInt();
      steps = resumed.get().step();
      console.printf("%s: resumed after epoch %d (step %d)%n", s.name(), epochsDone, steps);
    }
    long start = System.nanoTime();
    long keptSteps = steps;
    int keptEpochs = epochsDone;
    AtomicLong examplesDone = new AtomicLong((long) epochsDone * examples); // over all epochs, for the bar
    AtomicReference<String> status = new AtomicReference<>("");
    // the past of a resumed run: its step lines and finished epochs, not the final (test) line of an earlier end
    try (MetricsLog metrics = MetricsLog.open(s.outDir(), line -> line.has("step")
        ? line.get("step").asLong() <= keptSteps
        : line.path("epoch").asLong(Long.MAX_VALUE) <= keptEpochs && !line.has(FINAL_KEY), conf);
        Progress bar = Progress.start(new Progress.Spec(s.name(), () -> (long) s.epochs() * examples, "examples", 1,
            examplesDone::get, status::get, true))) {
      for (int epoch = epochsDone; epoch < s.epochs(); epoch++) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < examples; i++) {
          order.add(i);
        }
        Collections.shuffle(order, new Random(s.seed() * 31 + epoch));
        double lossSum = 0;
        int count = 0;
        long epochStart = System.nanoTime();
        int perRound = rounds == null ? 1 : s.workers() * s.frequency();
        for (int from = 0; from < order.size(); ) {
          List<List<dev.sparkgpt.train.Batches>> perWorker = new ArrayList<>();
          for (int w = 0; w < (rounds == null ? 1 : s.workers()); w++) {
            perWorker.add(new ArrayList<>());
          }
          for (int j = 0; j < perRound && from < order.size(); j++) {
            TokenBatch b = batches.batch(order.subList(from, Math.min(order.size(), from + s.batchSize())));
            from += b.batchSize();
            perWorker.get(j % perWorker.size()).add(new dev.sparkgpt.train.Batches(new int[][][] {b.inputs()},
                new int[][][] {b.targets()}, (long) b.batchSize() * b.inputs()[0].length));
          }
          double loss;
          double gradNorm;
          Map<String, Object> roundMetrics = Map.of();
          int localSteps = 0;
          for (List<dev.sparkgpt.train.Batches> w : perWorker) {
            localSteps += w.size();
          }
          if (rounds == null) {
            dev.sparkgpt.train.Batches b = perWorker.get(0).get(0);
            StepModel.StepResult r = step.step(b.inputs(), b.targets(), s.lr(), s.maxNorm());
            loss = r.loss();
            gradNorm = r.gradNorm();
          } else {
            double[] lrs = new double[s.frequency()];
            Arrays.fill(lrs, s.lr());
            AveragingRounds.Round r = rounds.runShipped(perWorker, lrs, s.maxNorm(), steps);
            loss = r.loss();
            gradNorm = r.gradNorm();
            roundMetrics = r.metrics();
          }
          long before = steps;
          steps += perWorker.get(0).size(); // round-robin: the first worker is the busiest
          count += localSteps;
          lossSum += loss * localSteps;
          examplesDone.set((long) epoch * examples + from);
          status.set(String.format(" epoch %d/%d, loss %.3f", epoch + 1, s.epochs(), loss));
          if (steps / s.logInterval() > before / s.logInterval()) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("step", steps);
            line.put("train_loss", loss);
            line.put("lr", s.lr());
            line.put("grad_norm", gradNorm);
            line.put("examples_per_sec", from / ((System.nanoTime() - epochStart) / 1e9));
            line.put("elapsed_s", (System.nanoTime() - start) / 1e9);
            line.putAll(roundMetrics);
            metrics.write(line);
          }
        }
        double rate = examples / ((System.nanoTime() - epochStart) / 1e9);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("epoch", epoch + 1);
        line.put("train_loss", lossSum / Math.max(1, count));
        line.putAll(end.finish(epoch + 1, lossSum / Math.max(1, count), rate));
        line.put("examples_per_sec", rate);
        metrics.write(line);
        Map<String, Object> saved = new LinkedHashMap<>(state);
        saved.put("epoch", epoch + 1);
        saved.put("rng", step.rngState());
        if (rounds == null) {
          store.save(steps, step.weights(), step.optimizerState(), saved);
        } else {
          saved.put("averaging", rounds.describe());
          store.save(steps, step.weights(), rounds.optimizerState(), saved, rounds::writeWorkerFiles);
        }
      }
      if (lastLine != null) {
        metrics.write(lastLine.get());
      }
    }
    return steps;
  }
}
