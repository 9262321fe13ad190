package dev.sparkgpt.train;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoSerializable;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import dev.sparkgpt.config.ConfigException;
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
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One round of parameter averaging on Spark, whatever feeds it (pretraining's window cursors, a finetune's epochs):
 * the driver broadcasts the model's weights and optimizer moments; each worker task restores them, takes its local
 * optimizer steps on the batches it was handed, and returns its state; a tree aggregation sums the states and the
 * driver divides by the number of workers that trained. A retried task recomputes its part from the same broadcast
 * and batches (its dropout RNG is derived from seed, step and worker), so a failure never double-counts an update.
 */
public final class AveragingRounds {
  /** What a round did: tokens trained, mean loss and grad norm over all local steps, timings. */
  public record Round(long tokens, double loss, double gradNorm, Map<String, Object> metrics) {}

  private final JavaSparkContext jsc;
  private final ParameterAveragingEngine.ModelFactory factory;
  private final StepModel model;
  private final long seed;
  private final int depth;

  /** Refuses more workers than Spark has cores (each round would run in waves). */
  public AveragingRounds(JavaSparkContext jsc, ParameterAveragingEngine.ModelFactory factory, StepModel driverModel,
      int workers, long seed) {
    int cores = jsc.defaultParallelism();
    if (workers > cores) {
      throw new ConfigException("train.workers", workers + " workers but Spark offers " + cores + " cores, so each"
          + " round would run in waves", "set train.workers ≤ " + cores + " or give the job more executor cores");
    }
    this.jsc = jsc;
    this.factory = factory;
    this.model = driverModel;
    this.seed = seed;
    this.depth = Math.max(2, (int) Math.ceil(Math.log(workers) / Math.log(2)) / 2 + 1);
  }

  /**
   * Runs one round from global step {@code step}: worker w takes the optimizer steps {@code perWorker.get(w)} (one
   * element per local step, with learning rate {@code lrs[i]}); a worker with no batches sits the round out. Leaves
   * the average in the driver's model.
   */
  public Round run(List<List<WindowCursor.Batches>> perWorker, double[] lrs, double maxNorm, long step) {
    List<WorkItem> items = new ArrayList<>();
    long localSteps = 0;
    for (int w = 0; w < perWorker.size(); w++) {
      if (!perWorker.get(w).isEmpty()) {
        items.add(new WorkItem(w, perWorker.get(w), lrs, maxNorm, mix(seed, step, w)));
        localSteps += perWorker.get(w).size();
      }
    }
    if (items.isEmpty()) {
      throw new IllegalArgumentException("a round needs at least one batch");
    }
    long t0 = System.nanoTime();
    byte[] state = ModelState.toBytes(model);
    Broadcast<byte[]> shared = jsc.broadcast(state);
    long t1 = System.nanoTime();
    Sum sum = jsc.parallelize(items, items.size()).map(new RunWorker(factory, shared))
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
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("broadcast_ms", (t1 - t0) / 1e6);
    metrics.put("compute_ms", sum.computeNanos / 1e6);
    metrics.put("averaging_ms", ((t2 - t1) - sum.computeNanos) / 1e6 + (t3 - t2) / 1e6);
    metrics.put("broadcast_bytes", state.length);
    return new Round(sum.tokens, sum.loss / localSteps, sum.gradNorm / localSteps, metrics);
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

  private static long mix(long seed, long step, int worker) {
    long z = seed * 0x9E3779B97F4A7C15L + step * 0xBF58476D1CE4E5B9L + worker * 0x94D049BB133111EBL;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    return z ^ (z >>> 31);
  }

  /** Runs one worker's local steps inside an executor task. */
  static final class RunWorker implements Function<WorkItem, Sum> {
    private static final long serialVersionUID = 1L;
    private static final ThreadLocal<Map<String, StepModel>> MODELS = ThreadLocal.withInitial(HashMap::new);
    private final ParameterAveragingEngine.ModelFactory factory;
    private final Broadcast<byte[]> state;

    RunWorker(ParameterAveragingEngine.ModelFactory factory, Broadcast<byte[]> state) {
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

}
