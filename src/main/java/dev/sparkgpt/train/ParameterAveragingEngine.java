package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.ShardWindows;
import dev.sparkgpt.data.WindowSource;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongToDoubleFunction;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Data-parallel training on Spark by parameter averaging (what DL4J's ParameterAveragingTrainingMaster does, for a
 * model DL4J's masters cannot drive). Each round the driver plans every worker's {@code averaging_frequency} steps
 * from the run's {@link GlobalCursor}; {@link AveragingRounds} broadcasts the weights, the workers read their own
 * windows, train with the inner AdamW moments they keep, and send back their weights in chunks, which the outer
 * optimizer turns into the next model. A retried task recomputes its part of the round from the same broadcast and
 * plan, so a failure never double-counts an update.
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
  private final GlobalCursor cursor;
  private final long seed;
  private final boolean shuffle;
  private final int workers;
  private final int frequency;
  private final int microBatch;
  private final int accumulation;
  private long round;
  private String warning;

  public ParameterAveragingEngine(JavaSparkContext jsc, ModelFactory factory, StepModel driverModel,
      WindowSource train, long seed, boolean shuffle, int workers, int frequency, int microBatch,
      int accumulation, AveragingRounds.Settings exchange) {
    this(jsc, factory, driverModel, train, seed, shuffle, workers, frequency, microBatch, accumulation, exchange,
        Exchange.MAX_CHUNK_BYTES / Float.BYTES);
  }

  /** As above with exchange chunks of at most {@code chunkElements} values (tests). */
  ParameterAveragingEngine(JavaSparkContext jsc, ModelFactory factory, StepModel driverModel,
      WindowSource train, long seed, boolean shuffle, int workers, int frequency, int microBatch,
      int accumulation, AveragingRounds.Settings exchange, int chunkElements) {
    if (train.windows() == 0) {
      throw new ConfigException("data", "no training windows", "use more data or a shorter context");
    }
    this.rounds = new AveragingRounds(jsc, factory, driverModel, workers, seed, exchange, chunkElements);
    this.model = driverModel;
    this.cursor = new GlobalCursor(train, seed, shuffle, workers);
    this.seed = seed;
    this.shuffle = shuffle;
    this.workers = workers;
    this.frequency = frequency;
    this.microBatch = microBatch;
    this.accumulation = accumulation;
  }

  /**
   * One round: the driver plans each worker's {@code frequency} steps from the global cursor (block ids and window
   * ranges, no tokens); shard windows are read by the workers themselves, a text file's few windows are shipped.
   */
  @Override
  public int parallelWorkers() {
    return workers;
  }

  @Override
  public Advance advance(long step, LongToDoubleFunction lr, double maxNorm) {
    double[] lrs = new double[frequency];
    for (int i = 0; i < frequency; i++) {
      lrs[i] = lr.applyAsDouble(step + i);
    }
    List<WorkerBatches> perWorker = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      List<List<GlobalCursor.Segment>> steps = new ArrayList<>();
      for (int i = 0; i < frequency; i++) {
        steps.add(StreamBatches.plan(cursor, w, accumulation, microBatch));
      }
      StreamBatches planned = new StreamBatches(cursor.source(), seed, shuffle, steps, accumulation, microBatch);
      perWorker.add(cursor.source() instanceof ShardWindows ? planned : WorkerBatches.shipped(planned.load()));
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
    Map<String, Object> s = new LinkedHashMap<>(cursor.state());
    s.put("workers", workers);
    s.put("round", round);
    return s;
  }

  /** Continues the global stream; a checkpoint of another worker count continues it exactly (see GlobalCursor). */
  @Override
  public void restoreCursor(JsonNode saved) {
    round = saved.path("round").asLong();
    warning = cursor.restore(saved);
  }

  @Override
  public String cursorWarning() {
    return warning;
  }

  @Override
  public long windowsPerEpoch() {
    return cursor.source().windows();
  }

  @Override
  public long epoch() {
    return cursor.epoch();
  }
}
