package dev.sparkgpt.train;

import java.io.Serializable;
import java.util.List;

/**
 * A worker's batches for one round, resolved where the worker runs: shipped as they are (a finetune's few
 * examples), or read by the executor itself from its slice of the token shards, so no corpus passes the driver.
 */
public interface WorkerBatches extends Serializable {
  /** One element per local optimizer step. */
  List<Batches> load();

  /** Local optimizer steps this worker takes (known on the driver without loading). */
  int steps();

  /** Batches computed on the driver and shipped with the task. */
  static WorkerBatches shipped(List<Batches> batches) {
    List<Batches> copy = List.copyOf(batches);
    return new WorkerBatches() {
      private static final long serialVersionUID = 1L;

      @Override
      public List<Batches> load() {
        return copy;
      }

      @Override
      public int steps() {
        return copy.size();
      }
    };
  }
}
