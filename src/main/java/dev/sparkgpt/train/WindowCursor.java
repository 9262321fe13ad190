package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.data.TrainingWindows;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A position in a stream of training windows: epoch and index into that epoch's seeded order. Saved in checkpoints
 * so a resumed run sees exactly the batches it would have seen.
 */
public final class WindowCursor implements Serializable {
  private static final long serialVersionUID = 1L;
  private final TrainingWindows windows;
  private final long seed;
  private final boolean shuffle;
  private long epoch;
  private int position;
  private transient int[] order;

  /** Micro-batches of one optimizer step and how many real target tokens they hold. */
  public record Batches(int[][][] inputs, int[][][] targets, long tokens) implements Serializable {}

  public WindowCursor(TrainingWindows windows, long seed, boolean shuffle) {
    this.windows = windows;
    this.seed = seed;
    this.shuffle = shuffle;
  }

  public TrainingWindows windows() {
    return windows;
  }

  public long epoch() {
    return epoch;
  }

  /** The next {@code accumulation} micro-batches of {@code microBatch} windows (epochs roll over as needed). */
  public Batches next(int accumulation, int microBatch) {
    int[][][] inputs = new int[accumulation][][];
    int[][][] targets = new int[accumulation][][];
    long tokens = 0;
    for (int a = 0; a < accumulation; a++) {
      int[] indices = new int[microBatch];
      for (int i = 0; i < microBatch; i++) {
        if (order == null || position >= order.length) {
          if (order != null) {
            epoch++;
            position = 0;
          }
          order = windows.order(seed, epoch, shuffle);
        }
        indices[i] = order[position++];
      }
      inputs[a] = windows.inputs(indices);
      targets[a] = windows.targets(indices);
      for (int[] row : targets[a]) {
        for (int y : row) {
          if (y != TrainingWindows.IGNORE_INDEX) {
            tokens++;
          }
        }
      }
    }
    return new Batches(inputs, targets, tokens);
  }

  /** {epoch, position} for state.json. */
  public Map<String, Object> state() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("epoch", epoch);
    s.put("position", position);
    return s;
  }

  /** Continues from a saved {epoch, position}. */
  public void restore(JsonNode state) {
    epoch = state.path("epoch").asLong();
    position = state.path("position").asInt();
    order = windows.order(seed, epoch, shuffle);
  }
}
