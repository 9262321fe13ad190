package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.function.LongToDoubleFunction;

/**
 * Moves training forward: one optimizer step locally ({@link LocalEngine}), or one round of local steps on every
 * Spark worker followed by averaging ({@code ParameterAveragingEngine}). The loop around it (metrics, evaluation,
 * checkpoints, stopping) is the same for both.
 */
public interface TrainingEngine {
  /** What one advance did: global steps, trained tokens, mean loss and grad norm, plus engine-specific metrics. */
  record Advance(int steps, long tokens, double loss, double gradNorm, Map<String, Object> metrics) {}

  /** Runs the next steps from global step {@code step}; {@code lr} gives the learning rate of each global step. */
  Advance advance(long step, LongToDoubleFunction lr, double maxNorm);

  /** The model on the driver: evaluation, samples and checkpoints read it, resume restores into it. */
  StepModel model();

  /** Where the data stream(s) stand, as saved in a checkpoint's state.json. */
  Map<String, Object> cursor();

  /** Continues the data stream(s) from a checkpoint's cursor. */
  void restoreCursor(JsonNode cursor);

  /** Training windows of one epoch (for the startup line). */
  long windowsPerEpoch();

  /** Current epoch (of worker 0 when there are several). */
  long epoch();
}
