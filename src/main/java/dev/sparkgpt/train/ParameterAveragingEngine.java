package dev.sparkgpt.train;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoSerializable;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TrainingWindows;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongToDoubleFunction;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.factory.Nd4j;

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

  private final JavaSparkContext jsc;
  private final ModelFactory factory;
  private final StepModel model;
  private final List<WindowCursor> cursors = new ArrayList<>();
  private final TrainingWindows train;
  private final long seed;
  private final boolean shuffle;
  private final int workers;
  private final int frequency;
  private final int microBatch;
  private final int accumulation;
  private final int depth;
  private long round;

  public ParameterAveragingEngine(JavaSparkContext jsc, ModelFactory factory, StepModel driverModel,
      TrainingWindows train, long seed, boolean shuffle, int workers, int frequency, int microBatch,
      int accumulation) {
    int cores = jsc.defaultParallelism();
    if (workers > cores) {
      throw new ConfigException("train.workers", workers + " workers but Spark offers " + cores + " cores, so each"
          + " round would run in waves", "set train.workers ≤ " + cores + " or give the job more executor cores");
    }
    if (train.size() < workers) {
      throw new ConfigException("train.workers", workers + " workers but only " + train.size() + " training "
          + "windows", "use fewer workers or more data");
    }
    this.jsc = jsc;
    this.factory = factory;
    this.model = driverModel;
    this.train = train;
    this.seed = seed;
    this.shuffle = shuffle;
    this.workers = workers;
    this.frequency = frequency;
    this.microBatch = microBatch;
    this.accumulation = accumulation;
    this.depth = Math.max(2, (int) Math.ceil(Math.log(workers) / Math.log(2)) / 2 + 1);
    for (int w = 0; w < workers; w++) {
      cursors.add(new WindowCursor(train.slice(w, workers), workerSeed(w), shuffle));
    }
  }

  private long workerSeed(int w) {
    return seed + 1_000_003L * w; // worker 0 sees the order the local loop would see
  }

  /** One worker's share of a round: its batches for each local step and their learning rates. */
  record WorkItem(int worker, List<WindowCursor.Batches> steps, double[] lrs, double maxNorm, long rng)
      implements Serializable {}

  /** Sum over workers of their state vectors, losses, norms, tokens and compute time. */
  static final class Sum implements Serializable, KryoSerializable {
    private static final long serialVersionUID = 1L;
    transient float[] state;   // serialised by writeObject
    double loss;
    double gradNorm;
    long tokens;
    long computeNanos;
    int workers;
    String backends = "";

    /**
     * Task results travel through Spark's serializer (Kryo here), whose default writes a float[] value by value; the
     * state goes as one block of little-endian bytes instead (a bulk copy each way). Java serialisation (a job run
     * without Kryo) takes the same path through writeObject/readObject.
     */
    @Override
    public void write(Kryo kryo, Output out) {
      out.writeDouble(loss);
      out.writeDouble(gradNorm);
      out.writeLong(tokens);
      out.writeLong(computeNanos);
      out.writeInt(workers);
      out.writeString(backends);
      writeState(out);
    }

    @Override
    public void read(Kryo kryo, Input in) {
      loss = in.readDouble();
      gradNorm = in.readDouble();
      tokens = in.readLong();
      computeNanos = in.readLong();
      workers = in.readInt();
      backends = in.readString();
      readState(in);
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
      out.defaultWriteObject();
      writeState(out);
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
      in.defaultReadObject();
      readState(in);
    }

    private void writeState(OutputStream out) {
      try {
        DataOutputStream data = new DataOutputStream(out);
        data.writeInt(state == null ? -1 : state.length);
        if (state != null) {
          ByteBuffer b = ByteBuffer.allocate(state.length * Float.BYTES)
              .order(ByteOrder.LITTLE_ENDIAN);
          b.asFloatBuffer().put(state);
          data.write(b.array());
        }
        data.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private void readState(InputStream in) {
      try {
        DataInputStream data = new DataInputStream(in);
        int n = data.readInt();
        state = null;
        if (n >= 0) {
          byte[] bytes = new byte[n * Float.BYTES];
          data.readFully(bytes);
          state = new float[n];
          ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(state);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    Sum add(Sum o) {
      if (o.workers == 0) {
        return this;
      }
      if (workers == 0) {
        return o;
      }
      for (int i = 0; i < state.length; i++) {
        state[i] += o.state[i];
      }
      loss += o.loss;
      gradNorm += o.gradNorm;
      tokens += o.tokens;
      computeNanos = Math.max(computeNanos, o.computeNanos);
      workers += o.workers;
      if (!backends.contains(o.backends)) {
        backends = backends + "," + o.backends;
      }
      return this;
    }
  }

  @Override
  public Advance advance(long step, LongToDoubleFunction lr, double maxNorm) {
    double[] lrs = new double[frequency];
    for (int i = 0; i < frequency; i++) {
      lrs[i] = lr.applyAsDouble(step + i);
    }
    List<WorkItem> items = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      List<WindowCursor.Batches> steps = new ArrayList<>();
      for (int i = 0; i < frequency; i++) {
        steps.add(cursors.get(w).next(accumulation, microBatch));
      }
      items.add(new WorkItem(w, steps, lrs, maxNorm, mix(seed, step, w)));
    }
    long t0 = System.nanoTime();
    byte[] state = ModelState.toBytes(model);
    Broadcast<byte[]> shared = jsc.broadcast(state);
    long t1 = System.nanoTime();
    Sum sum = jsc.parallelize(items, workers).map(new RunWorker(factory, shared))
        .treeAggregate(new Sum(), Sum::add, Sum::add, depth);
    long t2 = System.nanoTime();
    shared.destroy();
    String driverBackend = Nd4j.getBackend().getClass().getSimpleName();
    if (!sum.backends.equals(driverBackend)) {
      throw new ConfigException("executor backend", "executors run ND4J backend(s) [" + sum.backends + "] but the "
          + "driver runs " + driverBackend + ": averaged weights would mix numerics", "use the same build (CPU or "
          + "-Pcuda) for driver and executors");
    }
    float inv = 1f / sum.workers;
    for (int i = 0; i < sum.state.length; i++) {
      sum.state[i] *= inv;
    }
    ModelState.unflatten(model, sum.state, model.rngState());
    long t3 = System.nanoTime();
    round++;
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("workers", workers);
    metrics.put("round", round);
    metrics.put("broadcast_ms", (t1 - t0) / 1e6);
    metrics.put("compute_ms", sum.computeNanos / 1e6);
    metrics.put("averaging_ms", ((t2 - t1) - sum.computeNanos) / 1e6 + (t3 - t2) / 1e6);
    metrics.put("broadcast_bytes", state.length);
    return new Advance(frequency, sum.tokens, sum.loss / (sum.workers * (double) frequency),
        sum.gradNorm / (sum.workers * (double) frequency), metrics);
  }

  private static long mix(long seed, long step, int worker) {
    long z = seed * 0x9E3779B97F4A7C15L + step * 0xBF58476D1CE4E5B9L + worker * 0x94D049BB133111EBL;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    return z ^ (z >>> 31);
  }

  /** Runs one worker's local steps inside an executor task. */
  static final class RunWorker implements Function<WorkItem, Sum> {
    private static final long serialVersionUID = 1L;
    private static final ThreadLocal<Map<String, StepModel>> MODELS = ThreadLocal.withInitial(HashMap::new);
    private final ModelFactory factory;
    private final Broadcast<byte[]> state;

    RunWorker(ModelFactory factory, Broadcast<byte[]> state) {
      this.factory = factory;
      this.state = state;
    }

    @Override
    public Sum call(WorkItem item) {
      StepModel m = MODELS.get().computeIfAbsent(factory.key(), k -> factory.create());
      ModelState.restore(m, state.value(), item.rng());
      long t0 = System.nanoTime();
      Sum sum = new Sum();
      for (int i = 0; i < item.steps().size(); i++) {
        WindowCursor.Batches b = item.steps().get(i);
        StepModel.StepResult r = m.step(b.inputs(), b.targets(), item.lrs()[i], item.maxNorm());
        sum.loss += r.loss();
        sum.gradNorm += r.gradNorm();
        sum.tokens += b.tokens();
      }
      sum.computeNanos = System.nanoTime() - t0;
      sum.state = ModelState.flatten(m);
      sum.workers = 1;
      sum.backends = Nd4j.getBackend().getClass().getSimpleName();
      return sum;
    }
  }

  @Override
  public StepModel model() {
    return model;
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
