package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.data.TrainingWindows;
import java.util.Map;
import java.util.function.LongToDoubleFunction;

/** Single-process training: one optimizer step of global_batch_size windows per advance, from one seeded cursor. */
public final class LocalEngine implements TrainingEngine {
  private final StepModel model;
  private final WindowCursor cursor;
  private final int microBatch;
  private final int accumulation;

  public LocalEngine(StepModel model, TrainingWindows train, long seed, boolean shuffle, int microBatch,
      int accumulation) {
    this.model = model;
    this.cursor = new WindowCursor(train, seed, shuffle);
    this.microBatch = microBatch;
    this.accumulation = accumulation;
  }

  @Override
  public Advance advance(long step, LongToDoubleFunction lr, double maxNorm) {
    WindowCursor.Batches batches = cursor.next(accumulation, microBatch);
    StepModel.StepResult r = model.step(batches.inputs(), batches.targets(), lr.applyAsDouble(step), maxNorm);
    return new Advance(1, batches.tokens(), r.loss(), r.gradNorm(), Map.of());
  }

  @Override
  public StepModel model() {
    return model;
  }

  @Override
  public Map<String, Object> cursor() {
    return cursor.state();
  }

  @Override
  public void restoreCursor(JsonNode state) {
    cursor.restore(state);
  }

  @Override
  public long windowsPerEpoch() {
    return cursor.windows().size();
  }

  @Override
  public long epoch() {
    return cursor.epoch();
  }
}
