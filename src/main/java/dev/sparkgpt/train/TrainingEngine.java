package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.checkpoint.CheckpointState;
import java.util.Map;
import java.util.function.LongToDoubleFunction;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Moves training forward: one optimizer step locally ({@link LocalEngine}), or one round of local steps on every
 * Spark worker followed by the outer step ({@code ParameterAveragingEngine}). The loop around it (metrics,
 * evaluation, checkpoints, stopping) is the same for both; what a checkpoint holds of the optimizer is the engine's.
 */
public interface TrainingEngine {
  /** What one advance did: global steps, trained tokens, mean loss and grad norm, plus engine-specific metrics. */
  record Advance(int steps, long tokens, double loss, double gradNorm, Map<String, Object> metrics) {}

  /** Runs the next steps from global step {@code step}; {@code lr} gives the learning rate of each global step. */
  Advance advance(long step, LongToDoubleFunction lr, double maxNorm);

  /** The model on the driver: evaluation, samples and checkpoints read it. */
  StepModel model();

  /** Where the data stream(s) stand, as saved in a checkpoint's state.json. */
  Map<String, Object> cursor();

  /** Continues the data stream(s) from a checkpoint's cursor. */
  void restoreCursor(JsonNode cursor);

  /** What a restore could only approximate of the data position (printed by the loop), or null. */
  default String cursorWarning() {
    return null;
  }

  /**
   * Models training side by side (the MFU denominator is this × the driver's measured gemm rate: each worker is
   * taken to compute as fast as the driver's BLAS threads do).
   */
  default int parallelWorkers() {
    return 1;
  }

  /** Training windows of one epoch (for the startup line). */
  long windowsPerEpoch();

  /** The earliest epoch still being read. */
  long epoch();

  /** What optimizer.safetensors holds: the AdamW moments locally, the outer optimizer's state under averaging. */
  default Map<String, INDArray> optimizerState() {
    return model().optimizerState();
  }

  /** Further state.json entries of the engine (parameter averaging: its workers and round). */
  default Map<String, Object> checkpointState() {
    return Map.of();
  }

  /** Writes the engine's own files into a checkpoint's staging directory (the workers' moments). */
  default void writeCheckpointFiles(Path staging) {}

  /** Continues from a checkpoint: weights, optimizer state, RNG and data cursor. */
  default void restore(CheckpointState ck) {
    int saved = ck.state().path("averaging").path("workers").asInt(0);
    Map<String, INDArray> moments = saved > 0 ? WorkerMoments.mean(ck.dir(), saved, dev.sparkgpt.io.HadoopConf.create())
        : ck.optimizer();
    model().restore(ck.weights(), moments, ck.rng());
    restoreCursor(ck.cursor());
  }
}
