package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TrainingWindows;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongToDoubleFunction;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Data-parallel training on Spark by parameter averaging (what DL4J's ParameterAveragingTrainingMaster does, for a
 * model DL4J's masters cannot drive). Each round the driver broadcasts weights and optimizer moments; each of
 * {@code workers} tasks restores them, takes {@code averaging_frequency} optimizer steps on its own slice of the
 * training windows, and returns its state; a tree aggregation sums the states and the driver divides by the number
 * of workers. A retried task recomputes its part of the round from the same broadcast and batches, so a failure
 * never double-counts an update.
 */
public final class ParameterAveragingEngine implements TrainingEngine {
  /** Builds a worker's model inside an executor (the same architecture as the driver's). */
  public interface ModelFactory extends Serializable {
    StepModel create();

    /** Identifies the architecture, so an executor builds a model once and reuses it across rounds. */
    String key();
  }

  private final AveragingRounds rounds;
  private final StepModel model;
  private final List<WindowCursor> cursors = new ArrayList<>();
  private final TrainingWindows train;
  private final long seed;
  private final boolean shuffle;
  private final int workers;
  private final int frequency;
  private final int microBatch;
  private final int accumulation;
  private long round;

  public ParameterAveragingEngine(JavaSparkContext jsc, ModelFactory factory, StepModel driverModel,
      TrainingWindows train, long seed, boolean shuffle, int workers, int frequency, int microBatch,
      int accumulation, AveragingRounds.Settings exchange) {
    this(jsc, factory, driverModel, train, seed, shuffle, workers, frequency, microBatch, accumulation, exchange,
        Exchange.MAX_CHUNK_BYTES / Float.BYTES);
  }

  /** As above with exchange chunks of at most {@code chunkElements} values (tests). */
  ParameterAveragingEngine(JavaSparkContext jsc, ModelFactory factory, StepModel driverModel,
      TrainingWindows train, long seed, boolean shuffle, int workers, int frequency, int microBatch,
      int accumulation, AveragingRounds.Settings exchange, int chunkElements) {
    if (train.size() < workers) {
      throw new ConfigException("train.workers", workers + " workers but only " + train.size() + " training "
          + "windows", "use fewer workers or more data");
    }
    this.rounds = new AveragingRounds(jsc, factory, driverModel, workers, seed, exchange, chunkElements);
    this.model = driverModel;
    this.train = train;
    this.seed = seed;
    this.shuffle = shuffle;
    this.workers = workers;
    this.frequency = frequency;
    this.microBatch = microBatch;
    this.accumulation = accumulation;
    for (int w = 0; w < workers; w++) {
      cursors.add(new WindowCursor(train.slice(w, workers), workerSeed(w), shuffle));
    }
  }

  private long workerSeed(int w) {
    return seed + 1_000_003L * w; // worker 0 sees the order the local loop would see
  }

  @Override
  public Advance advance(long step, LongToDoubleFunction lr, double maxNorm) {
    double[] lrs = new double[frequency];
    for (int i = 0; i < frequency; i++) {
      lrs[i] = lr.applyAsDouble(step + i);
    }
    List<WorkerBatches> perWorker = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      List<WindowCursor.Batches> steps = new ArrayList<>();
      for (int i = 0; i < frequency; i++) {
        steps.add(cursors.get(w).next(accumulation, microBatch));
      }
      perWorker.add(WorkerBatches.shipped(steps));
    }
    round++;
    AveragingRounds.Round r = rounds.run(perWorker, lrs, maxNorm, step);
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("workers", workers);
    metrics.put("round", round);
    metrics.putAll(r.metrics());
    return new Advance(frequency, r.tokens(), r.loss(), r.gradNorm(), metrics);
  }

  @Override
  public StepModel model() {
    return model;
  }

  @Override
  public Map<String, org.nd4j.linalg.api.ndarray.INDArray> optimizerState() {
    return rounds.optimizerState();
  }

  @Override
  public Map<String, Object> checkpointState() {
    return Map.of("averaging", rounds.describe());
  }

  @Override
  public void writeCheckpointFiles(org.apache.hadoop.fs.Path staging) {
    rounds.writeWorkerFiles(staging);
  }

  @Override
  public void restore(dev.sparkgpt.checkpoint.CheckpointState ck) {
    rounds.restore(ck);
    restoreCursor(ck.cursor());
  }

  /** Releases the workers' state held in this JVM. */
  public void close() {
    rounds.close();
  }

  @Override
  public Map<String, Object> cursor() {
    List<Map<String, Object>> states = new ArrayList<>();
    for (WindowCursor c : cursors) {
      states.add(c.state());
    }
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("workers", workers);
    s.put("round", round);
    s.put("per_worker", states);
    return s;
  }

  @Override
  public void restoreCursor(JsonNode saved) {
    round = saved.path("round").asLong();
    JsonNode per = saved.path("per_worker");
    if (saved.path("workers").asInt(-1) == workers && per.size() == workers) {
      for (int w = 0; w < workers; w++) {
        cursors.get(w).restore(per.get(w));
      }
      return;
    }
    // Another world size (or a local checkpoint): re-split. Count the windows consumed so far and start every new
    // worker in the epoch that count reaches; each slice then begins that epoch at the matching fraction.
    long consumed = 0;
    if (per.isArray() && per.size() > 0) {
      long oldWorkers = per.size();
      for (JsonNode c : per) {
        consumed += c.path("epoch").asLong() * (train.size() / oldWorkers) + c.path("position").asLong();
      }
    } else {
      consumed = saved.path("epoch").asLong() * train.size() + saved.path("position").asLong();
    }
    long epoch = consumed / train.size();
    double fraction = (consumed % train.size()) / (double) train.size();
    for (int w = 0; w < workers; w++) {
      WindowCursor c = cursors.get(w);
      int position = (int) Math.floor(fraction * c.windows().size());
      c.restore(dev.sparkgpt.io.JsonFiles.MAPPER.valueToTree(Map.of("epoch", epoch, "position", position)));
    }
  }

  @Override
  public long windowsPerEpoch() {
    return train.size();
  }

  @Override
  public long epoch() {
    return cursors.get(0).epoch();
  }
}
