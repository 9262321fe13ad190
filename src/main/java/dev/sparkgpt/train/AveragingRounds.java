package dev.sparkgpt.train;

import dev.sparkgpt.config.OuterUpdate;
import dev.sparkgpt.config.ExchangeDtype;

import dev.sparkgpt.io.DirectArrays;
import dev.sparkgpt.checkpoint.CheckpointState;
import dev.sparkgpt.config.ConfigException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;

/**
 * Rounds of data-parallel training on Spark, DiLoCo-style (docs/distributed.md). Each round the driver broadcasts
 * the weights (float32), or with bfloat16 exchange only the last round's update; each worker task takes its local
 * steps with its own AdamW moments, which stay on its executor between rounds, and answers with its weights or its
 * pseudo-gradient in chunks. The driver sums them chunk by chunk in worker order in float32 (the same sum at any
 * executor count, O(model) driver memory) and takes the outer step ({@link OuterOptimizer}). A worker whose state
 * is gone (lost executor) fails the round with {@link WorkerStateLostException}: the job then resumes from the last
 * checkpoint, which holds every worker's moments, so a loss never changes the result silently.
 */
public final class AveragingRounds {
  /** What a round did: tokens trained, mean loss and grad norm over all local steps, timings and traffic. */
  public record Round(long tokens, double loss, double gradNorm, Map<String, Object> metrics) {}

  /**
   * How rounds exchange: the outer optimizer and the dtype of what workers send; {@code allowWaves} lets a run
   * recovering from a lost executor go on with fewer cores than workers (rounds then run in waves).
   */
  public record Settings(OuterUpdate outer, double outerLr, double outerMomentum, ExchangeDtype dtype,
      boolean allowWaves) {
    /** Plain averaging in float32 (the finetunes' default). */
    public static final Settings AVERAGE = new Settings(OuterUpdate.AVERAGE, 1, 0, ExchangeDtype.F32);

    public Settings(OuterUpdate outer, double outerLr, double outerMomentum, ExchangeDtype dtype) {
      this(outer, outerLr, outerMomentum, dtype, false);
    }
  }

  private final JavaSparkContext jsc;
  private final ParameterAveragingEngine.ModelFactory factory;
  private final StepModel model;
  private final long seed;
  private final int workers;
  private final Settings settings;
  private final OuterOptimizer outer;
  private final int chunkElements;
  private final String runId = UUID.randomUUID().toString();
  private final List<List<String>> locations = new ArrayList<>();
  private long round;
  private WorkerRound.Seed restart;
  private List<byte[]> pendingUpdate;

  /** Refuses more workers than Spark has cores (each round would run in waves). */
  public AveragingRounds(JavaSparkContext jsc, ParameterAveragingEngine.ModelFactory factory, StepModel driverModel,
      int workers, long seed, Settings settings) {
    this(jsc, factory, driverModel, workers, seed, settings, Exchange.MAX_CHUNK_BYTES / Float.BYTES);
  }

  /** As above with chunks of at most {@code chunkElements} values (tests exercise many chunks on a tiny model). */
  AveragingRounds(JavaSparkContext jsc, ParameterAveragingEngine.ModelFactory factory, StepModel driverModel,
      int workers, long seed, Settings settings, int chunkElements) {
    int cores = jsc.defaultParallelism();
    if (workers > cores && !settings.allowWaves()) {
      throw new ConfigException("train.workers", workers + " workers but Spark offers " + cores + " cores, so each"
          + " round would run in waves", "set train.workers ≤ " + cores + " or give the job more executor cores");
    }
    this.jsc = jsc;
    this.factory = factory;
    this.model = driverModel;
    this.seed = seed;
    this.workers = workers;
    this.settings = settings;
    this.outer = new OuterOptimizer(settings.outer(), settings.outerLr(), settings.outerMomentum());
    this.chunkElements = chunkElements;
    this.restart = new WorkerRound.Seed(null, 0, workers);
    for (int w = 0; w < workers; w++) {
      locations.add(List.of());
    }
  }

  /** As {@link #run} with batches computed on the driver (the finetunes' examples). */
  public Round runShipped(List<List<Batches>> perWorker, double[] lrs, double maxNorm, long step) {
    List<WorkerBatches> shipped = new ArrayList<>();
    perWorker.forEach(b -> shipped.add(WorkerBatches.shipped(b)));
    return run(shipped, lrs, maxNorm, step);
  }

  /**
   * Runs one round from global step {@code step}: worker w takes {@code perWorker.get(w).steps()} local steps with
   * learning rates {@code lrs}; a worker without batches keeps its state in step but is left out of the mean.
   * Leaves the new weights in the driver's model.
   */
  public Round run(List<WorkerBatches> perWorker, double[] lrs, double maxNorm, long step) {
    if (perWorker.size() != workers) {
      throw new IllegalArgumentException(perWorker.size() + " batch lists for " + workers + " workers");
    }
    long t0 = System.nanoTime();
    INDArray theta = model.weightVector();
    boolean full = restart != null || settings.dtype() == ExchangeDtype.F32;
    WorkerRound.Payload payload = full
        ? new WorkerRound.Payload(true, ExchangeDtype.F32, WorkerRound.encode(theta, ExchangeDtype.F32,
            chunkElements), chunkElements)
        : new WorkerRound.Payload(false, settings.dtype(), pendingUpdate, chunkElements);
    long broadcastBytes = bytes(payload.chunks());
    String payloadKey = runId + "/round-" + round;
    Broadcast<WorkerRound.Payload> shared = jsc.isLocal() ? null : jsc.broadcast(payload);
    WorkerRound.PayloadSource source = shared == null ? WorkerRound.PayloadSource.local(payloadKey, payload)
        : WorkerRound.PayloadSource.broadcast(shared);
    List<Tuple2<WorkerRound.Item, scala.collection.Seq<String>>> items = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      WorkerRound.Item item = new WorkerRound.Item(runId, w, round, perWorker.get(w), lrs, maxNorm,
          mix(seed, step, w), restart, settings.dtype());
      items.add(placed(item, w));
    }
    long t1 = System.nanoTime();
    ClassTag<WorkerRound.Item> tag = scala.reflect.ClassTag$.MODULE$.apply(WorkerRound.Item.class);
    RDD<WorkerRound.Item> rdd = jsc.sc().makeRDD(JavaConverters.asScalaBuffer(items).toSeq(), tag);
    JavaRDD<WorkerRound.Result> results = JavaRDD.fromRDD(rdd, tag).map(new WorkerRound(factory, source));
    // small answers (all workers' together ≤ one chunk) come back in the round's own job; larger ones stay on the
    // executors and are fetched chunk by chunk, worker by worker
    boolean inJvm = source.inJvm();           // local mode: answers stay in memory, only their metadata travels
    boolean together = inJvm
        || (long) theta.length() * settings.dtype().bytes() * workers <= Exchange.MAX_CHUNK_BYTES;
    if (!together) {
      results = results.persist(StorageLevel.MEMORY_AND_DISK());
    }
    try {
      List<WorkerRound.Result> all = together ? new ArrayList<>(results.collect()) : null;
      if (inJvm) {
        List<WorkerRound.Result> answers = new ArrayList<>();
        for (WorkerRound.Result meta : all) {
          answers.add(WorkerRound.takeLocalResult(runId, round, meta.worker()));
        }
        all = answers;
      }
      List<WorkerRound.Result> metas = new ArrayList<>(together ? all.stream().map(WorkerRound.Result::meta).toList()
          : results.map(WorkerRound.Result::meta).collect());
      long t2 = System.nanoTime();
      metas.sort(java.util.Comparator.comparingInt(WorkerRound.Result::worker));
      checkBackends(metas);
      if (all != null) {
        all.sort(java.util.Comparator.comparingInt(WorkerRound.Result::worker));
      }
      Aggregate agg = aggregate(results, all, metas, theta);
      long t3 = System.nanoTime();
      round++;
      restart = null;
      return summary(metas, agg, broadcastBytes, t0, t1, t2, t3);
    } catch (Exception e) {              // Spark's SparkException is checked, thrown unchecked from Scala
      if (WorkerStateLostException.causedBy(e)) {
        throw new WorkerStateLostException("round " + round + " at step " + step + ": a worker's optimizer state was"
            + " lost with its executor (" + rootMessage(e) + ")");
      }
      throw e instanceof RuntimeException re ? re : new IllegalStateException(e.getMessage(), e);
    } finally {
      if (!together) {
        results.unpersist(false);
      }
      if (shared != null) {
        shared.destroy();
      }
      WorkerRound.PayloadSource.release(payloadKey);
    }
  }

  /** The summed answers turned into new weights: per chunk, in worker order, then the outer step. */
  private record Aggregate(long receivedBytes, double driftCosine, long fetchNanos) {}

  private Aggregate aggregate(JavaRDD<WorkerRound.Result> results, List<WorkerRound.Result> all,
      List<WorkerRound.Result> metas, INDArray theta) {
    List<Exchange.Chunk> chunks = Exchange.chunks(theta.length(), chunkElements);
    List<WorkerRound.Result> active = metas.stream().filter(r -> r.steps() > 0).toList();
    boolean averageWeights = settings.outer() == OuterUpdate.AVERAGE && settings.dtype() == ExchangeDtype.F32;
    List<byte[]> update = new ArrayList<>();
    long received = 0;
    double unitSquared = 0;
    int n = active.size();
    boolean drift = n >= 2;                   // the mean pairwise cosine needs two workers
    for (Exchange.Chunk c : chunks) {
      int len = c.length();
      // θ_start of the chunk: needed for Δθ (f32 answers are weights) and for the drift's unit vectors
      float[] start = averageWeights && !drift ? null : new float[len];
      if (start != null) {
        DirectArrays.readRange(theta, c.from(), start, 0, len);
      }
      float[] acc = new float[len];            // Σ weights (average, f32) or Σ Δθ
      float[] unit = drift ? new float[len] : null;
      boolean f32 = settings.dtype() == ExchangeDtype.F32;
      float[] values = f32 ? null : new float[len];   // f32 answers are read in place: no decoded copy
      for (WorkerRound.Result r : active) {
        byte[] bytes = all != null ? all.get(r.worker()).chunks().get(c.index())
            : fetch(results, r.worker(), c.index());
        received += bytes.length;
        java.nio.FloatBuffer in = f32 ? java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN)
            .asFloatBuffer() : null;
        if (!f32) {
          Exchange.decode(bytes, settings.dtype(), values);
        }
        float inv = r.deltaNorm() > 0 ? (float) (1 / r.deltaNorm()) : 0f;
        for (int i = 0; i < len; i++) {
          float v = f32 ? in.get(i) : values[i];
          if (averageWeights) {
            acc[i] += v;
          } else {
            acc[i] += f32 ? start[i] - v : v;
          }
          if (drift) {
            unit[i] += (f32 ? start[i] - v : v) * inv;
          }
        }
      }
      if (drift) {
        for (float u : unit) {
          unitSquared += (double) u * u;
        }
      }
      if (averageWeights) {
        for (int i = 0; i < len; i++) {
          acc[i] /= n;                         // the mean of the workers' weights, exactly a lone worker's
        }
      } else {
        for (int i = 0; i < len; i++) {
          acc[i] /= n;
        }
        outer.update(c.index(), acc, len);
        if (settings.dtype() != ExchangeDtype.F32) {
          byte[] u = Exchange.encode(acc, len, settings.dtype());
          update.add(u);
          Exchange.decode(u, settings.dtype(), acc);  // the driver applies exactly what the workers will
        }
        for (int i = 0; i < len; i++) {
          acc[i] = start[i] - acc[i];
        }
      }
      DirectArrays.writeRange(acc, 0, theta, c.from(), len);
    }
    pendingUpdate = update;
    double cosine = n < 2 ? Double.NaN : (unitSquared - n) / ((double) n * (n - 1));
    return new Aggregate(received, cosine, 0);
  }

  private static byte[] fetch(JavaRDD<WorkerRound.Result> results, int worker, int chunk) {
    @SuppressWarnings("unchecked")
    List<byte[]>[] part = results.map(r -> r.chunks().get(chunk)).collectPartitions(new int[] {worker});
    return part[0].get(0);
  }

  private Round summary(List<WorkerRound.Result> metas, Aggregate agg, long broadcastBytes, long t0, long t1,
      long t2, long t3) {
    long tokens = 0;
    double loss = 0;
    double gradNorm = 0;
    long steps = 0;
    long slowest = 0;
    long fastest = Long.MAX_VALUE;
    List<Double> norms = new ArrayList<>();
    for (int w = 0; w < metas.size(); w++) {
      WorkerRound.Result r = metas.get(w);
      if (!jsc.isLocal()) {     // one executor in local mode: a preference would only add Spark's locality wait
        locations.set(w, List.of("executor_" + r.host() + "_" + r.executorId()));
      }
      if (r.steps() == 0) {
        continue;
      }
      tokens += r.tokens();
      loss += r.loss();
      gradNorm += r.gradNorm();
      steps += r.steps();
      slowest = Math.max(slowest, r.computeNanos());
      fastest = Math.min(fastest, r.computeNanos());
      norms.add(r.deltaNorm());
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("broadcast_ms", (t1 - t0) / 1e6);
    m.put("compute_ms", slowest / 1e6);
    m.put("straggler_ms", (slowest - fastest) / 1e6);
    m.put("averaging_ms", Math.max(0, (t2 - t1) - slowest) / 1e6 + (t3 - t2) / 1e6);
    m.put("aggregate_ms", (t3 - t2) / 1e6);
    m.put("broadcast_bytes", broadcastBytes);
    m.put("received_bytes", agg.receivedBytes());
    m.put("round_bytes", broadcastBytes + agg.receivedBytes());
    m.put("delta_norm", norms);
    if (!Double.isNaN(agg.driftCosine())) {
      m.put("drift_cosine", agg.driftCosine());
    }
    return new Round(tokens, loss / Math.max(1, steps), gradNorm / Math.max(1, steps), m);
  }

  private static void checkBackends(List<WorkerRound.Result> metas) {
    String driverBackend = Nd4j.getBackend().getClass().getSimpleName();
    for (WorkerRound.Result r : metas) {
      if (!r.backend().equals(driverBackend)) {
        throw new ConfigException("executor backend", "executor " + r.executorId() + " runs ND4J backend "
            + r.backend() + " but the driver runs " + driverBackend + ": averaged weights would mix numerics",
            "use the same build (CPU or -Pcuda) for driver and executors");
      }
    }
  }

  /** The outer optimizer's state, for optimizer.safetensors (the workers' moments go to their own files). */
  public Map<String, INDArray> optimizerState() {
    return outer.state();
  }

  /** What state.json records of the rounds: how many workers wrote moment files, and the round count. */
  public Map<String, Object> describe() {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("workers", workers);
    d.put("round", round);
    d.put("outer_optimizer", settings.outer().key());
    d.put("exchange_dtype", settings.dtype().name().toLowerCase(java.util.Locale.ROOT));
    return d;
  }

  /** {@code element} with worker {@code worker}'s preferred executor, for makeRDD. */
  private <T> Tuple2<T, scala.collection.Seq<String>> placed(T element, int worker) {
    return new Tuple2<>(element, JavaConverters.asScalaBuffer(locations.get(worker)).toSeq());
  }

  /** Has every worker write its moments into checkpoint staging directory {@code staging} (on its executor). */
  public void writeWorkerFiles(Path staging) {
    // each save task prefers the executor that holds its worker's state, as the rounds' tasks do
    List<Tuple2<Integer, scala.collection.Seq<String>>> ids = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      ids.add(placed(w, w));
    }
    ClassTag<Integer> tag = scala.reflect.ClassTag$.MODULE$.apply(Integer.class);
    try {
      JavaRDD.fromRDD(jsc.sc().makeRDD(JavaConverters.asScalaBuffer(ids).toSeq(), tag), tag)
          .map(new WorkerRound.Save(runId, round - 1, staging.toString())).collect();
    } catch (Exception e) {
      if (WorkerStateLostException.causedBy(e)) {
        throw new WorkerStateLostException("checkpoint after round " + round + ": " + rootMessage(e));
      }
      throw e instanceof RuntimeException re ? re : new IllegalStateException(e.getMessage(), e);
    }
  }

  /**
   * Continues from a checkpoint: the driver's weights and RNG, the outer momentum, and the workers (same or another
   * count) restarted from the checkpoint's moment files (a local run's checkpoint: its AdamW moments).
   */
  public void restore(CheckpointState ck) {
    model.restore(ck.weights(), Map.of(), ck.rng());
    outer.load(ck.optimizer());
    int saved = ck.state().path("averaging").path("workers").asInt(0);
    round = ck.state().path("averaging").path("round").asLong(0);
    boolean hasMoments = saved > 0 || ck.optimizer().keySet().stream().anyMatch(k -> k.startsWith(AdamW.FIRST_MOMENT));
    restart = new WorkerRound.Seed(hasMoments ? ck.dir().toString() : null, saved, workers);
  }

  /** Drops the workers' state this JVM holds (a local-mode run that ends; executors drop theirs on the next run). */
  public void close() {
    WorkerRound.forget(runId);
  }

  private static long bytes(List<byte[]> chunks) {
    long n = 0;
    for (byte[] c : chunks) {
      n += c.length;
    }
    return n;
  }

  private static String rootMessage(Throwable e) {
    Throwable c = e;
    while (c.getCause() != null) {
      c = c.getCause();
    }
    return c.getMessage();
  }

  private static long mix(long seed, long step, int worker) {
    long z = seed * 0x9E3779B97F4A7C15L + step * 0xBF58476D1CE4E5B9L + worker * 0x94D049BB133111EBL;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    return z ^ (z >>> 31);
  }
}
