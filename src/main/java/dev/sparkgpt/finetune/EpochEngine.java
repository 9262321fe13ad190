package dev.sparkgpt.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.checkpoint.CheckpointState;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.train.AveragingRounds;
import dev.sparkgpt.train.Batches;
import dev.sparkgpt.train.GptStepModel;
import dev.sparkgpt.train.StepModel;
import dev.sparkgpt.train.TrainingEngine;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.LongToDoubleFunction;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The finetunes' {@link TrainingEngine}: epochs over the training examples in a seeded order (a new order each
 * epoch), one optimizer step per batch locally; under parameter averaging each advance is one round that hands
 * {@code workers × frequency} consecutive batches of the epoch's order out round-robin (the epoch's last round
 * spreads what is left) and counts as many optimizer steps as its busiest worker took. An epoch ends with the
 * advance that used its last example ({@link #epochEnded()}).
 */
final class EpochEngine implements TrainingEngine {
  private final GptStepModel model;
  private final AveragingRounds rounds;
  private final int examples;
  private final Finetuning.Examples batches;
  private final int batchSize;
  private final long seed;
  private final int workers;
  private final int frequency;
  private int epochsDone;
  private List<Integer> order;
  private int from;
  private double lossSum;
  private int stepsThisEpoch;
  private long epochStart;
  private boolean ended;
  private double epochLoss;
  private double epochRate;

  /** The job's examples, batch size and seed; its rounds null: the local strategy. */
  EpochEngine(Finetuning.Job job) {
    this.model = job.step;
    this.rounds = job.rounds;
    this.examples = job.examples;
    this.batches = job.batches;
    this.batchSize = job.settings.batchSize();
    this.seed = job.settings.seed();
    this.workers = rounds == null ? 1 : job.settings.workers();
    this.frequency = rounds == null ? 1 : job.settings.frequency();
  }

  @Override
  public Advance advance(long step, LongToDoubleFunction lr, double maxNorm) {
    if (order == null) {
      order = new ArrayList<>();
      for (int i = 0; i < examples; i++) {
        order.add(i);
      }
      Collections.shuffle(order, new Random(seed * 31 + epochsDone));
      from = 0;
      lossSum = 0;
      stepsThisEpoch = 0;
      epochStart = System.nanoTime();
    }
    List<List<Batches>> perWorker = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      perWorker.add(new ArrayList<>());
    }
    long tokens = 0;
    for (int j = 0; j < workers * frequency && from < order.size(); j++) {
      TokenBatch b = batches.batch(order.subList(from, Math.min(order.size(), from + batchSize)));
      from += b.batchSize();
      long batchTokens = (long) b.batchSize() * b.inputs()[0].length;
      tokens += batchTokens;
      perWorker.get(j % workers).add(new Batches(new int[][][] {b.inputs()}, new int[][][] {b.targets()},
          batchTokens));
    }
    int localSteps = 0;
    for (List<Batches> w : perWorker) {
      localSteps += w.size();
    }
    double loss;
    double gradNorm;
    Map<String, Object> metrics = Map.of();
    if (rounds == null) {
      Batches b = perWorker.get(0).get(0);
      StepModel.StepResult r = model.step(b.inputs(), b.targets(), lr.applyAsDouble(step), maxNorm);
      loss = r.loss();
      gradNorm = r.gradNorm();
    } else {
      double[] lrs = new double[frequency];
      Arrays.fill(lrs, lr.applyAsDouble(step));
      AveragingRounds.Round r = rounds.runShipped(perWorker, lrs, maxNorm, step);
      loss = r.loss();
      gradNorm = r.gradNorm();
      metrics = r.metrics();
    }
    stepsThisEpoch += localSteps;
    lossSum += loss * localSteps;
    ended = from >= order.size();
    if (ended) {
      epochLoss = lossSum / Math.max(1, stepsThisEpoch);
      epochRate = examples / ((System.nanoTime() - epochStart) / 1e9);
      epochsDone++;
      order = null;
    }
    // round-robin: the first worker is the busiest
    return new Advance(perWorker.get(0).size(), tokens, loss, gradNorm, metrics);
  }

  /** Whether the latest advance finished an epoch. */
  boolean epochEnded() {
    return ended;
  }

  /** The finished epoch's mean training loss (after {@link #epochEnded()}). */
  double epochLoss() {
    return epochLoss;
  }

  /** The finished epoch's examples per second (after {@link #epochEnded()}). */
  double epochRate() {
    return epochRate;
  }

  /** Examples of all epochs done so far, for the progress bar. */
  long examplesDone() {
    return (long) epochsDone * examples + (order == null ? 0 : from);
  }

  /** Examples per second of the current epoch so far (the epoch just finished, right after its last advance). */
  double examplesPerSecond() {
    return ended ? epochRate : from / ((System.nanoTime() - epochStart) / 1e9);
  }

  @Override
  public StepModel model() {
    return model;
  }

  @Override
  public Map<String, Object> cursor() {
    return Map.of("epoch", epochsDone);
  }

  @Override
  public void restoreCursor(JsonNode cursor) {
    epochsDone = cursor.path("epoch").asInt();
    order = null;
  }

  @Override
  public int parallelWorkers() {
    return workers;
  }

  @Override
  public long windowsPerEpoch() {
    return examples;
  }

  /** Epochs finished. */
  @Override
  public long epoch() {
    return epochsDone;
  }

  @Override
  public Map<String, INDArray> optimizerState() {
    return rounds == null ? model.optimizerState() : rounds.optimizerState();
  }

  @Override
  public Map<String, Object> checkpointState() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("epoch", epochsDone);
    m.put("rng", model.rngState());
    if (rounds != null) {
      m.put("averaging", rounds.describe());
    }
    return m;
  }

  @Override
  public void writeCheckpointFiles(Path staging) {
    if (rounds != null) {
      rounds.writeWorkerFiles(staging);
    }
  }

  /** Continues after the checkpoint's last finished epoch: weights, optimizer (or the workers' moments), RNG. */
  @Override
  public void restore(CheckpointState ck) {
    JsonNode saved = ck.state();
    if (rounds != null) {
      rounds.restore(ck);
    } else {
      model.restore(ck.weights(), ck.optimizer(), saved.path("rng").asLong());
    }
    restoreCursor(saved);
  }
}
