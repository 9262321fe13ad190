package dev.sparkgpt.train;

import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.data.WindowSource;
import java.util.stream.IntStream;

/** In-memory windows cut into blocks of {@code size} (the last one shorter): a many-block source for tests. */
record BlockSource(TrainingWindows all, int size) implements WindowSource {
  @Override
  public int blocks() {
    return (all.size() + size - 1) / size;
  }

  @Override
  public int windows(int block) {
    return Math.min(size, all.size() - block * size);
  }

  @Override
  public long windows() {
    return all.size();
  }

  @Override
  public int context() {
    return all.context();
  }

  @Override
  public TrainingWindows read(int block) {
    return TrainingWindows.fromWindows(all, IntStream.range(block * size, block * size + windows(block))
        .toArray());
  }

  @Override
  public String id() {
    return "test-blocks:" + System.identityHashCode(all) + ":" + size;
  }
}
