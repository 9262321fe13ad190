package dev.sparkgpt.checkpoint;

import org.apache.spark.sql.SparkSession;
import dev.sparkgpt.io.CheckpointException;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A training run's hold on its out_dir: the single-writer {@link RunLease}, the {@link CheckpointStore} it saves
 * into, and where it resumes from. Opening takes the lease and collects what a crashed writer left (staging
 * directories, temporary files); every save first checks the lease is still held; closing releases it. Pretraining
 * and every finetune write their run directory through this one class.
 */
public final class RunWriter implements AutoCloseable {
  /** Minutes without a heartbeat after which a run's lease may be taken over (when its process cannot be seen). */
  public static final double DEFAULT_LEASE_MINUTES = 10;

  private final String outDir;
  private final CheckpointStore store;
  private final RunLease lease;
  private final Configuration conf;
  private final PrintStream console;

  private RunWriter(String outDir, CheckpointStore store, RunLease lease, Configuration conf, PrintStream console) {
    this.outDir = outDir;
    this.store = store;
    this.lease = lease;
    this.conf = conf;
    this.console = console;
  }

  /** Takes out_dir for this run (refused while another live run holds it). */
  public static RunWriter open(String outDir, int keepLast, Configuration conf, PrintStream console) {
    RunLease lease = RunLease.acquire(outDir, conf, sparkAppId(), DEFAULT_LEASE_MINUTES, console);
    try {
      CheckpointStore store = new CheckpointStore(outDir, conf, keepLast);
      int removed = store.collectLeftovers();
      if (removed > 0) {
        console.printf("%s: removed %d leftover staging entr%s of an interrupted checkpoint%n", outDir, removed,
            removed == 1 ? "y" : "ies");
      }
      return new RunWriter(outDir, store, lease, conf, console);
    } catch (RuntimeException e) {
      lease.close();
      throw e;
    }
  }

  /**
   * The checkpoint to continue from: {@code resume} "auto" = the run's latest complete checkpoint (if any),
   * "never" = none, anything else = that checkpoint directory (any Hadoop path). Weights and optimizer moments.
   */
  public Optional<CheckpointState> resume(String resume) {
    if ("never".equals(resume)) {
      return Optional.empty();
    }
    if (resume == null || "auto".equals(resume)) {
      return store.latest(console).map(dir -> CheckpointStore.load(dir, true, conf));
    }
    Checkpoint ck = Checkpoint.open(resume, conf, "resume");
    if (ck.kind() == Checkpoint.Kind.HUGGING_FACE) {
      throw new CheckpointException(resume + ": resume needs a SparkGPT checkpoint (weights, optimizer, cursor); "
          + "this is a Hugging Face directory. Fix: use init_from: " + resume + " to start from its weights");
    }
    return Optional.of(ck.load(true));
  }

  /** Saves a checkpoint of {@code step} (see {@link CheckpointStore#save}) while the lease is still this run's. */
  public Path save(long step, Map<String, INDArray> weights, Map<String, INDArray> optimizer,
      Map<String, Object> state) {
    return save(step, weights, optimizer, state, staging -> { });
  }

  /** As above, with further files written into the checkpoint's staging directory (see {@link CheckpointStore}). */
  public Path save(long step, Map<String, INDArray> weights, Map<String, INDArray> optimizer,
      Map<String, Object> state, java.util.function.Consumer<Path> extra) {
    lease.checkHeld();
    return store.save(step, weights, optimizer, state, extra);
  }

  /** Steps of the complete checkpoints, oldest first. */
  public List<Long> steps() {
    return store.steps();
  }

  /** "last good checkpoint: step-NNNNNN in out_dir" (or "none yet"), for failure messages. */
  public String lastGood() {
    List<Long> steps = store.steps();
    return "last good checkpoint: " + (steps.isEmpty() ? "none yet"
        : CheckpointStore.dirName(steps.get(steps.size() - 1))) + " in " + outDir;
  }

  /** The running Spark application's id, recorded in the lease for operators (null outside Spark). */
  private static String sparkAppId() {
    scala.Option<SparkSession> session = SparkSession.getActiveSession();
    if (session.isEmpty()) {
      session = SparkSession.getDefaultSession();
    }
    return session.isDefined() ? session.get().sparkContext().applicationId() : null;
  }

  @Override
  public void close() {
    lease.close();
  }
}
