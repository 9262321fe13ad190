package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.data.WindowSource;
import java.util.List;
import java.util.Map;
import java.util.function.LongToDoubleFunction;

/**
 * Single-process training: one optimizer step of global_batch_size windows per advance, from the run's global
 * cursor with one lane — the stream a parameter-averaging run of one worker reads too.
 */
public final class LocalEngine implements TrainingEngine {
  private final StepModel model;
  private final GlobalCursor cursor;
  private final long seed;
  private final boolean shuffle;
  private final int microBatch;
  private final int accumulation;
  private String warning;

  public LocalEngine(StepModel model, WindowSource train, long seed, boolean shuffle, int microBatch,
      int accumulation) {
    this.model = model;
    this.cursor = new GlobalCursor(train, seed, shuffle, 1);
    this.seed = seed;
    this.shuffle = shuffle;
    this.microBatch = microBatch;
    this.accumulation = accumulation;
  }

  @Override
  public Advance advance(long step, LongToDoubleFunction lr, double maxNorm) {
    List<GlobalCursor.Segment> segments = StreamBatches.plan(cursor, 0, accumulation, microBatch);
    Batches batches = new StreamBatches(cursor.source(), seed, shuffle, List.of(segments), accumulation, microBatch)
        .load().get(0);
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
    warning = cursor.restore(state);
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
