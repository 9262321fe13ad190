package dev.sparkgpt.data;

import java.io.Serializable;

/**
 * The training windows of one epoch as a list of blocks whose sizes are known without reading any token: the unit
 * in which a trainer shuffles, assigns work and reads. Shards give blocks of at most {@code data.block_rows} rows
 * ({@link ShardWindows}: a worker reads its blocks itself, a row group at a time); a text file's windows are one
 * block held in memory ({@link #inMemory}). Serializable: a source travels to executors as a small descriptor.
 */
public interface WindowSource extends Serializable {
  /** Blocks per epoch. */
  int blocks();

  /** Windows of block {@code block} (as {@link #read} will return them). */
  int windows(int block);

  /** Windows of one epoch. */
  long windows();

  /** Tokens per window input (the model's context). */
  int context();

  /** The windows of {@code block} in stream order; reads them where it runs (an executor, or the driver). */
  TrainingWindows read(int block);

  /** Identifies the source (a cache key for blocks read on an executor). */
  String id();

  /** Windows already in memory (a text file's), as one block. */
  static WindowSource inMemory(TrainingWindows windows) {
    String id = "memory:" + java.util.UUID.randomUUID();
    return new WindowSource() {
      private static final long serialVersionUID = 1L;

      @Override
      public int blocks() {
        return 1;
      }

      @Override
      public int windows(int block) {
        return windows.size();
      }

      @Override
      public long windows() {
        return windows.size();
      }

      @Override
      public int context() {
        return windows.context();
      }

      @Override
      public TrainingWindows read(int block) {
        return windows;
      }

      @Override
      public String id() {
        return id;
      }
    };
  }
}
