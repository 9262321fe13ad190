package dev.sparkgpt.train;

import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.data.WindowSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a worker's planned segments into batches where the worker runs: each block is read there (an executor reads
 * its own shard slice; nothing but the plan crosses from the driver) and kept in a small per-JVM cache, since one
 * block feeds a worker for several rounds. Memory: a few blocks per JVM, whatever the corpus size.
 */
public final class StreamBatches implements WorkerBatches {
  private static final long serialVersionUID = 1L;
  /** Blocks kept per JVM (a worker's current and next, for two workers of one executor). */
  static final int CACHED_BLOCKS = 4;
  private static final Map<String, TrainingWindows> CACHE = new LinkedHashMap<>(8, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, TrainingWindows> eldest) {
      return size() > CACHED_BLOCKS;
    }
  };

  private final WindowSource source;
  private final long seed;
  private final boolean shuffle;
  private final List<List<GlobalCursor.Segment>> steps;
  private final int accumulation;
  private final int microBatch;

  /** One list of segments (accumulation × microBatch windows in all) per local optimizer step. */
  public StreamBatches(WindowSource source, long seed, boolean shuffle, List<List<GlobalCursor.Segment>> steps,
      int accumulation, int microBatch) {
    this.source = source;
    this.seed = seed;
    this.shuffle = shuffle;
    this.steps = List.copyOf(steps);
    this.accumulation = accumulation;
    this.microBatch = microBatch;
  }

  /** The next step's segments of {@code lane}, taken from {@code cursor}. */
  public static List<GlobalCursor.Segment> plan(GlobalCursor cursor, int lane, int accumulation, int microBatch) {
    return cursor.take(lane, accumulation * microBatch);
  }

  @Override
  public int steps() {
    return steps.size();
  }

  @Override
  public List<Batches> load() {
    List<Batches> out = new ArrayList<>(steps.size());
    for (List<GlobalCursor.Segment> step : steps) {
      out.add(batches(step));
    }
    return out;
  }

  private Batches batches(List<GlobalCursor.Segment> segments) {
    int[][][] inputs = new int[accumulation][][];
    int[][][] targets = new int[accumulation][][];
    int seg = 0;
    int at = segments.isEmpty() ? 0 : segments.get(0).from();
    long tokens = 0;
    for (int a = 0; a < accumulation; a++) {
      int[][] x = new int[microBatch][];
      int[][] y = new int[microBatch][];
      for (int i = 0; i < microBatch; i++) {
        GlobalCursor.Segment s = segments.get(seg);
        TrainingWindows w = block(s.block());
        int[] one = {order(s, w.size())[at]};
        x[i] = w.inputs(one)[0];
        y[i] = w.targets(one)[0];
        for (int t : y[i]) {
          tokens += t == TrainingWindows.IGNORE_INDEX ? 0 : 1;
        }
        if (++at == s.to() && seg + 1 < segments.size()) {
          seg++;
          at = segments.get(seg).from();
        }
      }
      inputs[a] = x;
      targets[a] = y;
    }
    return new Batches(inputs, targets, tokens);
  }

  private transient GlobalCursor.Segment orderOf;
  private transient int[] order;

  private int[] order(GlobalCursor.Segment s, int n) {
    if (orderOf == null || orderOf.epoch() != s.epoch() || orderOf.block() != s.block()) {
      order = GlobalCursor.windowOrder(seed, s.epoch(), s.block(), n, shuffle);
      orderOf = s;
    }
    return order;
  }

  private TrainingWindows block(int block) {
    String key = source.id() + "/" + block;
    synchronized (CACHE) {
      TrainingWindows w = CACHE.get(key);
      if (w != null) {
        return w;
      }
    }
    TrainingWindows w = source.read(block); // outside the lock: two workers of one JVM read side by side
    synchronized (CACHE) {
      CACHE.put(key, w);
    }
    return w;
  }
}
