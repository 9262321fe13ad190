package dev.sparkgpt.train;

import dev.sparkgpt.checkpoint.RunWriter;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The loop's checkpoint listener: when {@code when} says so (every save_interval steps and at the stop; after every
 * epoch for a finetune), the engine's weights, optimizer state and own files go into a new step directory with
 * {@code state} as its state.json, through the run's single {@link RunWriter}.
 */
public final class Checkpointing implements TrainingLoop.Listener {
  private final RunWriter store;
  private final TrainingEngine engine;
  private final Predicate<TrainingLoop.State> when;
  private final Function<TrainingLoop.State, Map<String, Object>> state;

  public Checkpointing(RunWriter store, TrainingEngine engine, Predicate<TrainingLoop.State> when,
      Function<TrainingLoop.State, Map<String, Object>> state) {
    this.store = store;
    this.engine = engine;
    this.when = when;
    this.state = state;
  }

  @Override
  public void afterAdvance(TrainingLoop.State s) {
    if (when.test(s)) {
      store.save(s.step(), engine.model().weights(), engine.optimizerState(), state.apply(s),
          engine::writeCheckpointFiles);
    }
  }
}
