package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Ends a run once the validation loss has not improved for {@code patience} evaluations in a row (0 = never). Its
 * count goes into every checkpoint ({@link #state()}) and comes back on resume, so a resumed run stops where a
 * straight one does. Place it after the evaluating listener and before the checkpoint listener, so the step it
 * stops at is saved.
 */
public final class EarlyStop implements TrainingLoop.Listener {
  /** The stop reason it gives. */
  public static final String REASON = "early_stop";

  private final String key;
  private final int patience;
  private final PrintStream console;
  private double best = Double.POSITIVE_INFINITY;
  private int since;

  public EarlyStop(String key, int patience, PrintStream console) {
    this.key = key;
    this.patience = patience;
    this.console = console;
  }

  @Override
  public void afterAdvance(TrainingLoop.State s) {
    if (!(s.evaluation().get(key) instanceof Number n)) {
      return;
    }
    double value = n.doubleValue();
    if (value < best) {
      best = value;
      since = 0;
    } else {
      since++;
    }
    if (patience > 0 && since >= patience) {
      console.printf("early stop: %s has not improved on %.4f for %d evaluations (patience %d) at step %d%n", key,
          best, since, patience, s.step());
      s.stop(REASON);
    }
  }

  /** The best (lowest) value evaluated so far; +∞ before the first (pretraining's best_val_loss). */
  public double best() {
    return best;
  }

  /** Whether the patience is used up (a resumed run that stopped early, with the same or a smaller patience). */
  public boolean exhausted() {
    return patience > 0 && since >= patience;
  }

  /** The best value so far and the evaluations since it, for state.json. */
  public Map<String, Object> state() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("best", Double.isFinite(best) ? best : null);
    m.put("evaluations_since_best", since);
    return m;
  }

  /**
   * Continues from a checkpoint's {@link #state()}; a checkpoint from before early stopping has none, and then
   * {@code bestIfAbsent} (its recorded best value, or +∞) starts the count afresh.
   */
  public void restore(JsonNode saved, double bestIfAbsent) {
    best = saved.path("best").isNumber() ? saved.path("best").asDouble() : bestIfAbsent;
    since = saved.path("evaluations_since_best").asInt(0);
  }
}
