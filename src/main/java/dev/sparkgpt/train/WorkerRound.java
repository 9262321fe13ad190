package dev.sparkgpt.train;

import dev.sparkgpt.config.ExchangeDtype;

import dev.sparkgpt.io.DirectArrays;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.SafetensorsWriter;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A worker's part of a round, inside an executor task, and the state each worker keeps on its executor between
 * rounds: its AdamW moments (they never travel) and, with bfloat16 exchange, the round's starting weights, to which
 * it applies the driver's broadcast update itself. A round starts from the broadcast (full float32 weights, or the
 * update of the last round), takes the worker's local steps and sends back its weights (float32) or its
 * pseudo-gradient {@code θ_start − θ} (bfloat16) in chunks.
 */
final class WorkerRound implements Function<WorkerRound.Item, WorkerRound.Result> {
  private static final long serialVersionUID = 1L;
  /** Each worker's model, keyed like STATES: its AdamW moments stay in it between rounds (no copy). */
  private static final Map<String, StepModel> MODELS = new ConcurrentHashMap<>();
  /** Per executor JVM: run id + worker → the state after its last finished round. */
  private static final Map<String, State> STATES = new ConcurrentHashMap<>();
  /** Directory of the per-worker moment files inside a checkpoint. */
  static final String WORKERS_DIR = "workers";

  /** Where a worker's moments come from in a round that (re)starts it: fresh, or files of a checkpoint. */
  record Seed(String checkpointDir, int savedWorkers, int workers) implements Serializable {}

  /** What the driver broadcasts: full float32 weights, or the last round's update in the exchange dtype. */
  record Payload(boolean full, ExchangeDtype dtype, List<byte[]> chunks, int chunkElements) implements Serializable {}

  /** One worker's task in one round; {@code seed} non-null when the worker starts here (no state to continue). */
  record Item(String runId, int worker, long round, WorkerBatches batches, double[] lrs, double maxNorm, long rng,
      Seed seed, ExchangeDtype dtype) implements Serializable {}

  /** A worker's answer: what it trained, its timing and where it ran, and its weights or pseudo-gradient chunks. */
  record Result(int worker, int steps, double loss, double gradNorm, long tokens, long computeNanos, double deltaNorm,
      String backend, String host, String executorId, List<byte[]> chunks) implements Serializable {
    /** The same without the chunks (what the driver collects first). */
    Result meta() {
      return new Result(worker, steps, loss, gradNorm, tokens, computeNanos, deltaNorm, backend, host, executorId,
          List.of());
    }
  }

  private record State(long round, INDArray start) {}

  private final ParameterAveragingEngine.ModelFactory factory;
  /**
   * Where a round's payload comes from: a Spark broadcast (executors in other JVMs), or, in local mode where the
   * tasks run in the driver's JVM, the driver's own object (a broadcast there would hold the weights two more times
   * on the heap: serialized, and deserialized for the task).
   */
  interface PayloadSource extends Serializable {
    Payload value();

    /** Whether the tasks run in the driver's JVM (local mode): answers then stay in memory too. */
    default boolean inJvm() {
      return false;
    }

    static PayloadSource broadcast(Broadcast<Payload> b) {
      return b::value;
    }

    /** Registers {@code p} under {@code key} in this JVM until {@link #release}. */
    static PayloadSource local(String key, Payload p) {
      LOCAL_PAYLOADS.put(key, p);
      return new PayloadSource() {
        private static final long serialVersionUID = 1L;

        @Override
        public Payload value() {
          Payload found = LOCAL_PAYLOADS.get(key);
          if (found == null) {
            throw new IllegalStateException("round payload " + key + " is not in this JVM: a local-mode payload "
                + "reached an executor of a cluster");
          }
          return found;
        }

        @Override
        public boolean inJvm() {
          return true;
        }
      };
    }

    static void release(String key) {
      LOCAL_PAYLOADS.remove(key);
    }
  }

  private static final Map<String, Payload> LOCAL_PAYLOADS = new ConcurrentHashMap<>();

  private final PayloadSource payload;

  WorkerRound(ParameterAveragingEngine.ModelFactory factory, PayloadSource payload) {
    this.factory = factory;
    this.payload = payload;
  }

  private static String key(String runId, int worker) {
    return runId + "/" + worker;
  }

  @Override
  public Result call(Item item) {
    String key = key(item.runId(), item.worker());
    StepModel m = MODELS.computeIfAbsent(key, k -> factory.create());   // one architecture per run
    INDArray theta = m.weightVector();
    Payload p = payload.value();
    State prev = STATES.get(key);
    Map<String, INDArray> moments = null;     // null: the model holds this worker's moments of the last round
    if (item.seed() != null) {
      moments = item.seed().checkpointDir() == null ? freshMoments(m)
          : WorkerMoments.read(new Path(item.seed().checkpointDir()), item.worker(), item.seed().savedWorkers(),
              item.seed().workers(), HadoopConf.create());
    } else if (prev == null || prev.round() != item.round() - 1) {
      throw new WorkerStateLostException(WorkerStateLostException.class.getSimpleName() + ": worker "
          + item.worker() + " has no state for round " + item.round() + " on executor " + executorId() + " ("
          + (prev == null ? "none kept here" : "kept: round " + prev.round()) + "); its executor was lost or restarted");
    }
    if (p.full()) {
      writeChunks(theta, p, false);
    } else {
      theta.assign(prev.start());
      writeChunks(theta, p, true);           // θ_start(r) = θ_start(r−1) − u(r−1), as the driver computed it
    }
    // bf16 workers keep θ_start for the next round's update; f32 ones find it in the broadcast they were sent
    INDArray start = item.dtype() == ExchangeDtype.BF16 ? theta.dup() : null;
    if (moments != null) {
      m.restoreOptimizer(moments);
    }
    m.setRngState(item.rng());
    long t0 = System.nanoTime();
    double loss = 0;
    double gradNorm = 0;
    long tokens = 0;
    List<Batches> steps = item.batches().load();
    for (int i = 0; i < steps.size(); i++) {
      Batches b = steps.get(i);
      StepModel.StepResult r = m.step(b.inputs(), b.targets(), item.lrs()[i], item.maxNorm());
      loss += r.loss();
      gradNorm += r.gradNorm();
      tokens += b.tokens();
    }
    long compute = System.nanoTime() - t0;
    theta = m.weightVector();                  // a model may have replaced its arrays while stepping
    double[] squared = new double[1];
    List<byte[]> chunks = answer(theta, start, p, item.dtype(), squared);
    double deltaNorm = Math.sqrt(squared[0]);
    STATES.keySet().removeIf(k -> !k.startsWith(item.runId() + "/"));   // a finished run's workers are gone
    MODELS.keySet().removeIf(k -> !k.startsWith(item.runId() + "/"));
    STATES.put(key, new State(item.round(), item.dtype() == ExchangeDtype.BF16 ? start : null));
    Result result = new Result(item.worker(), steps.size(), loss, gradNorm, tokens, compute, deltaNorm,
        Nd4j.getBackend().getClass().getSimpleName(), host(), executorId(), chunks);
    if (payload.inJvm()) {                     // local mode: the driver takes the chunks from this JVM's memory
      LOCAL_RESULTS.put(resultKey(item.runId(), item.round(), item.worker()), result);
      return result.meta();
    }
    return result;
  }

  private static final Map<String, Result> LOCAL_RESULTS = new ConcurrentHashMap<>();

  private static String resultKey(String runId, long round, int worker) {
    return runId + "/round-" + round + "/" + worker;
  }

  /** Local mode: worker {@code worker}'s whole answer of {@code round}, handed over once. */
  static Result takeLocalResult(String runId, long round, int worker) {
    Result r = LOCAL_RESULTS.remove(resultKey(runId, round, worker));
    if (r == null) {
      throw new IllegalStateException("worker " + worker + " left no answer for round " + round + " in this JVM");
    }
    return r;
  }

  /** AdamW moments of a worker that starts from nothing: zeros and step 0. */
  private static Map<String, INDArray> freshMoments(StepModel m) {
    Map<String, INDArray> state = m.optimizerStateViews();   // zeroed in place: no second copy of the moments
    state.values().forEach(a -> a.assign(0));
    return state;
  }

  /** Writes the payload into {@code theta}: the values themselves, or ({@code subtract}) minus them. */
  static void writeChunks(INDArray theta, Payload p, boolean subtract) {
    int largest = 0;                                     // the chunks' own size, not the 64 MB ceiling
    long total = 0;
    for (byte[] chunk : p.chunks()) {
      largest = Math.max(largest, chunk.length / p.dtype().bytes());
      total += chunk.length / p.dtype().bytes();
    }
    if (total != theta.length()) {
      throw new IllegalStateException("broadcast holds " + total + " values, the model " + theta.length()
          + ": driver and executors built different models");
    }
    float[] buf = subtract || p.dtype() != ExchangeDtype.F32 ? new float[largest] : null;
    long from = 0;
    for (byte[] chunk : p.chunks()) {
      int n = chunk.length / p.dtype().bytes();
      if (buf == null) {
        DirectArrays.writeBytes(chunk, theta, from);     // f32 values: one copy into the native buffer
      } else {
        Exchange.decode(chunk, p.dtype(), buf);
        if (subtract) {
          INDArray part = theta.get(NDArrayIndex.interval(from, from + n));
          part.subi(DirectArrays.floats(buf, 0, n));     // bulk copies: ND4J's element-wise fills are slow
        } else {
          DirectArrays.writeRange(buf, 0, theta, from, n);
        }
      }
      from += n;
    }
  }

  /**
   * The worker's answer chunk by chunk — its weights (f32) or Δθ = θ_start − θ (bf16) — without a full-size copy:
   * θ_start comes from {@code start} (bf16) or from the f32 broadcast itself. Adds ‖Δθ‖² into {@code squared}.
   */
  static List<byte[]> answer(INDArray theta, INDArray start, Payload p, ExchangeDtype dtype, double[] squared) {
    List<byte[]> out = new java.util.ArrayList<>();
    if (dtype == ExchangeDtype.F32 && start == null && p.dtype() == ExchangeDtype.F32) {
      // the answer is θ's own bytes; ‖Δθ‖² is read off them and the broadcast without decoding either (a round
      // then allocates nothing but the answer: large temporary arrays cost GC pauses of 100 ms and more)
      for (Exchange.Chunk c : Exchange.chunks(theta.length(), p.chunkElements())) {
        byte[] bytes = DirectArrays.rangeBytes(theta, c.from(), c.length());
        java.nio.FloatBuffer now = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN)
            .asFloatBuffer();
        java.nio.FloatBuffer was = java.nio.ByteBuffer.wrap(p.chunks().get(c.index()))
            .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        double sq = 0;
        for (int i = 0; i < c.length(); i++) {
          float d = was.get(i) - now.get(i);
          sq += (double) d * d;
        }
        squared[0] += sq;
        out.add(bytes);
      }
      return out;
    }
    for (Exchange.Chunk c : Exchange.chunks(theta.length(), p.chunkElements())) {
      float[] now = new float[c.length()];
      float[] delta = new float[c.length()];
      DirectArrays.readRange(theta, c.from(), now, 0, c.length());
      if (start != null) {
        DirectArrays.readRange(start, c.from(), delta, 0, c.length());
      } else {
        Exchange.decode(p.chunks().get(c.index()), p.dtype(), delta);
      }
      double sq = 0;
      for (int i = 0; i < c.length(); i++) {
        delta[i] -= now[i];
        sq += (double) delta[i] * delta[i];
      }
      squared[0] += sq;
      out.add(Exchange.encode(dtype == ExchangeDtype.F32 ? now : delta, c.length(), dtype));
    }
    return out;
  }

  /** {@code v} cut into chunks of at most {@code chunkElements}, each encoded as {@code dtype}. */
  static List<byte[]> encode(INDArray v, ExchangeDtype dtype, int chunkElements) {
    List<byte[]> out = new java.util.ArrayList<>();
    for (Exchange.Chunk c : Exchange.chunks(v.length(), chunkElements)) {
      if (dtype == ExchangeDtype.F32) {
        out.add(DirectArrays.rangeBytes(v, c.from(), c.length()));   // little-endian f32: the bytes themselves
        continue;
      }
      float[] values = new float[c.length()];
      DirectArrays.readRange(v, c.from(), values, 0, c.length());
      out.add(Exchange.encode(values, values.length, dtype));
    }
    return out;
  }

  /** Writes worker {@code worker}'s moments (after round {@code round}) into a checkpoint's staging directory. */
  static final class Save implements Function<Integer, String> {
    private static final long serialVersionUID = 1L;
    private final String runId;
    private final long round;
    private final String staging;

    Save(String runId, long round, String staging) {
      this.runId = runId;
      this.round = round;
      this.staging = staging;
    }

    @Override
    public String call(Integer worker) {
      State s = STATES.get(key(runId, worker));
      StepModel model = MODELS.get(key(runId, worker));
      if (s == null || s.round() != round || model == null) {
        throw new WorkerStateLostException(WorkerStateLostException.class.getSimpleName() + ": worker " + worker
            + " has no moments of round " + round + " on executor " + executorId() + " to checkpoint");
      }
      Path file = WorkerMoments.file(new Path(staging), worker);
      SafetensorsWriter w = new SafetensorsWriter().putMetadata("format", "sparkgpt-worker");
      model.optimizerStateViews().forEach(w::add);
      w.write(file, HadoopConf.create());
      return file.toString();
    }
  }

  /** Drops every worker state of {@code runId} kept in this JVM (the driver's own, in local mode). */
  static void forget(String runId) {
    STATES.keySet().removeIf(k -> k.startsWith(runId + "/"));
    MODELS.keySet().removeIf(k -> k.startsWith(runId + "/"));
  }

  private static String executorId() {
    SparkEnv env = SparkEnv.get();
    return env == null ? "driver" : env.executorId();
  }

  private static String host() {
    SparkEnv env = SparkEnv.get();
    return env == null ? "localhost" : env.blockManager().blockManagerId().host();
  }
}
