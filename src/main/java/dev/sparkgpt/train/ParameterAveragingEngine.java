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

  /**
   * The engine over {@code train} for {@code driverModel}, whose workers {@code factory} builds: set at least
   * workers, frequency and micro_batch on the builder (seed 0, shuffle on, accumulation 1, plain averaging in f32
   * otherwise).
   */
  public static Builder builder(JavaSparkContext jsc, ModelFactory factory, StepModel driverModel,
      WindowSource train) {
    return new Builder(jsc, factory, driverModel, train);
  }

  /** The engine's settings by name (train.* keys of the pretrain config). */
  public static final class Builder {
    private final JavaSparkContext jsc;
    private final ModelFactory factory;
    private final StepModel driverModel;
    private final WindowSource train;
    private long seed;
    private boolean shuffle = true;
    private int workers;
    private int frequency;
    private int microBatch;
    private int accumulation = 1;
    private AveragingRounds.Settings exchange = AveragingRounds.Settings.AVERAGE;
    private int chunkElements = Exchange.MAX_CHUNK_BYTES / Float.BYTES;

    private Builder(JavaSparkContext jsc, ModelFactory factory, StepModel driverModel, WindowSource train) {
      this.jsc = jsc;
      this.factory = factory;
      this.driverModel = driverModel;
      this.train = train;
    }

    /** Seeds the data order (and the shuffle). */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    public Builder shuffle(boolean shuffle) {
      this.shuffle = shuffle;
      return this;
    }

    /** train.workers: Spark tasks per round. */
    public Builder workers(int workers) {
      this.workers = workers;
      return this;
    }

    /** train.averaging_frequency: each worker's local steps per round (DiLoCo's H). */
    public Builder frequency(int frequency) {
      this.frequency = frequency;
      return this;
    }

    /** train.micro_batch_size: windows per forward pass. */
    public Builder microBatch(int microBatch) {
      this.microBatch = microBatch;
      return this;
    }

    /** Micro-batches per optimizer step of one worker. */
    public Builder accumulation(int accumulation) {
      this.accumulation = accumulation;
      return this;
    }

    /** The outer update, exchange dtype and recovery of a round. */
    public Builder exchange(AveragingRounds.Settings exchange) {
      this.exchange = exchange;
      return this;
    }

    /** Exchange chunks of at most this many values (tests cut small vectors into many chunks). */
    Builder chunkElements(int chunkElements) {
      this.chunkElements = chunkElements;
      return this;
    }

    public ParameterAveragingEngine build() {
      if (workers < 1 || frequency < 1 || microBatch < 1 || accumulation < 1) {
        throw new IllegalArgumentException("workers, frequency, micro_batch and accumulation must be ≥ 1, got "
            + workers + ", " + frequency + ", " + microBatch + ", " + accumulation);
      }
      return new ParameterAveragingEngine(this);
    }
  }

  private ParameterAveragingEngine(Builder b) {
    if (b.train.windows() == 0) {
      throw new ConfigException("data", "no training windows", "use more data or a shorter context");
    }
    this.rounds = new AveragingRounds(b.jsc, b.factory, b.driverModel, b.workers, b.seed, b.exchange,
        b.chunkElements);
    this.model = b.driverModel;
    this.cursor = new GlobalCursor(b.train, b.seed, b.shuffle, b.workers);
    this.seed = b.seed;
    this.shuffle = b.shuffle;
    this.workers = b.workers;
    this.frequency = b.frequency;
    this.microBatch = b.microBatch;
    this.accumulation = b.accumulation;
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
