package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.data.WindowSource;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Where the whole run stands in its token stream, independent of how many workers read it. An epoch is the source's
 * blocks in a seeded order, each block's windows in a seeded order of their own. Every worker ("lane") holds one
 * open block and takes windows from it in that order; when it runs out, it opens the next unopened block (of the
 * next epoch once an epoch's blocks are all open). Each (epoch, block) is opened once, and each of its windows taken
 * once, so the stream is the same set of windows whatever the worker count; the state (next block, the lanes' open
 * blocks and how far each got) is all a checkpoint needs. A resume with fewer workers queues the dropped lanes'
 * half-read blocks, which are finished before any new block opens; a resume with more starts the new lanes on that
 * queue, then on new blocks: none twice, none skipped. The driver plans with block sizes only; the windows are read
 * where they are trained ({@link StreamBatches}).
 */
public final class GlobalCursor {
  /** Windows [{@code from}, {@code to}) of {@code block}'s order in {@code epoch}. */
  public record Segment(long epoch, int block, int from, int to) implements Serializable {
    int size() {
      return to - from;
    }
  }

  private static final class Open {
    final long epoch;
    final int block;
    int consumed;

    Open(long epoch, int block, int consumed) {
      this.epoch = epoch;
      this.block = block;
      this.consumed = consumed;
    }
  }

  private final WindowSource source;
  private final long seed;
  private final boolean shuffle;
  private final List<Open> lanes = new ArrayList<>();
  private final Deque<Open> pending = new ArrayDeque<>();
  private long nextEpoch;
  private int nextIndex;
  private long orderEpoch = -1;
  private int[] order;

  public GlobalCursor(WindowSource source, long seed, boolean shuffle, int lanes) {
    this.source = source;
    this.seed = seed;
    this.shuffle = shuffle;
    for (int i = 0; i < lanes; i++) {
      this.lanes.add(null);
    }
  }

  public WindowSource source() {
    return source;
  }

  public int lanes() {
    return lanes.size();
  }

  /** The next {@code count} windows of {@code lane}, as segments of blocks. */
  public List<Segment> take(int lane, int count) {
    List<Segment> segments = new ArrayList<>();
    while (count > 0) {
      Open o = lanes.get(lane);
      if (o == null || o.consumed == source.windows(o.block)) {
        o = open();
        lanes.set(lane, o);
      }
      int n = Math.min(count, source.windows(o.block) - o.consumed);
      segments.add(new Segment(o.epoch, o.block, o.consumed, o.consumed + n));
      o.consumed += n;
      count -= n;
    }
    return segments;
  }

  private Open open() {
    if (!pending.isEmpty()) {
      return pending.poll();
    }
    int block = blockOrder(nextEpoch)[nextIndex];
    Open o = new Open(nextEpoch, block, 0);
    if (++nextIndex == source.blocks()) {
      nextEpoch++;
      nextIndex = 0;
    }
    return o;
  }

  /** The blocks of {@code epoch} in the order they open. */
  int[] blockOrder(long epoch) {
    if (orderEpoch != epoch) {
      order = permutation(source.blocks(), new Random(seed * 1_000_033L + 31 * epoch + 17), shuffle);
      orderEpoch = epoch;
    }
    return order;
  }

  /**
   * The order of {@code block}'s {@code n} windows in {@code epoch}. Block 0's is the order a single in-memory block
   * always had (seed · 1,000,003 + epoch), so a text file's run trains on the same batches as before blocks.
   */
  public static int[] windowOrder(long seed, long epoch, int block, int n, boolean shuffle) {
    return permutation(n, new Random(seed * 1_000_003L + epoch + 7_919L * block), shuffle);
  }

  private static int[] permutation(int n, Random random, boolean shuffle) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    if (shuffle) {
      for (int i = n - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
      }
    }
    return p;
  }

  /** The earliest epoch still being read. */
  public long epoch() {
    long e = nextEpoch;
    for (Open o : lanes) {
      if (o != null && o.consumed < source.windows(o.block)) {
        e = Math.min(e, o.epoch);
      }
    }
    for (Open o : pending) {
      e = Math.min(e, o.epoch);
    }
    return e;
  }

  /** For state.json: the next block, the lanes' open blocks ([epoch, block, consumed] or null) and the queue. */
  public Map<String, Object> state() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("format", "blocks");
    s.put("blocks", source.blocks());
    s.put("windows", source.windows());
    s.put("epoch", epoch());
    s.put("next_epoch", nextEpoch);
    s.put("next_index", nextIndex);
    List<Object> open = new ArrayList<>();
    for (Open o : lanes) {
      open.add(o == null ? null : List.of(o.epoch, o.block, o.consumed));
    }
    s.put("lanes", open);
    List<Object> queued = new ArrayList<>();
    for (Open o : pending) {
      queued.add(List.of(o.epoch, o.block, o.consumed));
    }
    s.put("pending", queued);
    return s;
  }

  /**
   * Continues from a saved state, with this cursor's lane count: lanes beyond it join the queue (in lane order).
   * Returns a warning when the position can only be approximated (a cursor of an older release over several
   * blocks, or a source whose blocks changed under allow_data_change), else null.
   */
  public String restore(JsonNode s) {
    lanes.replaceAll(o -> null);
    pending.clear();
    if (!"blocks".equals(s.path("format").asText())) {
      return restoreLegacy(s);
    }
    nextEpoch = s.path("next_epoch").asLong();
    nextIndex = s.path("next_index").asInt();
    if (s.path("blocks").asInt() != source.blocks() || s.path("windows").asLong() != source.windows()) {
      nextIndex = 0; // another corpus (allow_data_change): start its next epoch afresh
      nextEpoch = s.path("epoch").asLong() + (s.path("next_index").asInt() > 0 ? 1 : 0);
      return "the data cursor was saved over " + s.path("blocks").asInt() + " blocks / " + s.path("windows").asLong()
          + " windows and the shards now give " + source.blocks() + " / " + source.windows() + ": training goes on at"
          + " the start of epoch " + nextEpoch;
    }
    List<Open> saved = new ArrayList<>();
    for (JsonNode o : s.path("lanes")) {
      saved.add(o.isNull() ? null : new Open(o.get(0).asLong(), o.get(1).asInt(), o.get(2).asInt()));
    }
    for (JsonNode o : s.path("pending")) {
      pending.add(new Open(o.get(0).asLong(), o.get(1).asInt(), o.get(2).asInt()));
    }
    for (int i = 0; i < saved.size(); i++) {
      Open o = saved.get(i);
      if (i < lanes.size()) {
        lanes.set(i, o);
      } else if (o != null && o.consumed < source.windows(o.block)) {
        pending.add(o);
      }
    }
    return null;
  }

  /** {epoch, position} of one cursor (or per_worker of several) over one in-memory order: exact for one block. */
  private String restoreLegacy(JsonNode s) {
    long epoch;
    long position;
    JsonNode per = s.path("per_worker");
    if (per.isArray() && per.size() > 0) {
      epoch = Long.MAX_VALUE;
      position = 0;
      for (JsonNode c : per) {
        epoch = Math.min(epoch, c.path("epoch").asLong());
        position += c.path("position").asLong();
      }
    } else {
      epoch = s.path("epoch").asLong();
      position = s.path("position").asLong();
    }
    nextEpoch = epoch;
    nextIndex = 0;
    if (source.blocks() == 1 && per.isMissingNode()) {
      lanes.set(0, new Open(epoch, 0, (int) Math.min(position, source.windows(0))));
      nextEpoch = epoch + 1;
      return null;
    }
    long skip = position; // the windows a position counted, skipped in the new stream's order
    while (skip > 0 && nextEpoch == epoch) {
      Open o = open();
      int n = (int) Math.min(skip, source.windows(o.block));
      o.consumed = n;
      skip -= n;
      if (o.consumed < source.windows(o.block)) {
        pending.add(o);
      }
    }
    return "the data cursor comes from an older release: training goes on after " + position + " windows of epoch "
        + epoch + " in the new block order (the exact windows seen before cannot be told apart)";
  }
}
