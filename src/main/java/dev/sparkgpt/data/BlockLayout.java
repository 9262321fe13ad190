package dev.sparkgpt.data;

import java.io.Serializable;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/**
 * Where every kept token of every block lands, planned on the driver from small per-block facts, so the write
 * pass needs no shuffle: block k owns the rows that start in its part of a stream and borrows the few tokens after
 * its end (at most seq_len, the heads of the next blocks) from {@link #lookahead}.
 *
 * <p>Streams: with {@code split: documents} one per split (train, val); with {@code split: tokens} one stream over
 * all documents whose first {@code boundary} tokens are train and the rest val.
 */
public final class BlockLayout implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Which documents stay and where they go: duplicates' keys and the split of every document spanning blocks. */
  public record Decisions(Set<Long> dropped, Map<Long, Byte> leadSplit, long[] continued) implements Serializable {
    /** The stream of entry i of block b (split for documents, 0 for tokens), or -1 when dropped. */
    public int streamOf(EncodedBlock b, int i, boolean tokensMode) {
      if (tokensMode && dropped.isEmpty()) {
        return 0; // one stream, nothing dropped: no lookup needed
      }
      long lead = i == 0 && b.firstContinues ? continued[b.order] : b.key[i];
      if (dropped.contains(lead)) {
        return -1;
      }
      byte split = b.multi(i) ? leadSplit.getOrDefault(lead, (byte) BlockPacker.TRAIN) : b.split[i];
      return tokensMode ? 0 : split;
    }
  }

  /** Decides the documents that span blocks from the blocks' heads, in order. */
  public static Decisions decide(List<EncodedBlock.Head> heads, Set<Long> dropped, boolean splitByDocuments,
      long seed, double valFraction) {
    long[] continued = new long[heads.size()];
    Arrays.fill(continued, -1);
    Map<Long, Byte> leadSplit = new HashMap<>();
    long carry = -1;
    for (EncodedBlock.Head h : heads) {
      if (h.lastKey() == -1 && h.docsRead() == 0) {
        continue; // an empty split inside a long document
      }
      if (h.firstContinues()) {
        continued[h.order()] = carry;
      }
      if (h.lastGoesOn()) {
        boolean onlyContinuation = h.firstContinues() && h.docsRead() == 0;
        if (!onlyContinuation) {
          carry = h.lastKey();
          leadSplit.put(carry, (byte) (splitByDocuments ? Pieces.splitOf(h.lastHashHi(), seed, valFraction)
              : BlockPacker.TRAIN));
        }
      } else if (!h.firstContinues() || h.docsRead() > 0) {
        carry = -1;
      }
    }
    return new Decisions(dropped, leadSplit, continued);
  }

  /** Per block and stream: kept tokens, and the first seq_len of them. */
  public record Summary(int order, EncodedBlock.ReadCounts counts, long[] tokens, int[][] heads)
      implements Serializable {}

  /** The encoding pass's result per block: its {@link EncodedBlock.Head} with the local summary. */
  public static final class HeadOf implements Function<EncodedBlock, EncodedBlock.Head> {
    private static final long serialVersionUID = 1L;
    private final boolean tokensMode;
    private final int seqLen;
    private final long seed;
    private final double valFraction;
    private final int dedupCap;

    /** {@code dedupCap}: a block with at most this many documents sends their hashes to the driver (0: none). */
    public HeadOf(boolean tokensMode, int seqLen, long seed, double valFraction, int dedupCap) {
      this.tokensMode = tokensMode;
      this.seqLen = seqLen;
      this.seed = seed;
      this.valFraction = valFraction;
      this.dedupCap = dedupCap;
    }

    @Override
    public EncodedBlock.Head call(EncodedBlock b) {
      return b.head(localSummary(b, tokensMode, seqLen, seed, valFraction), dedupCap);
    }
  }

  /**
   * The summary {@link #summarize} gives block b when nothing is dropped, computed from b alone, or null when it
   * needs an earlier block: with split by documents, a first document begun earlier takes that document's split.
   * Otherwise every decision about b's entries is b's own: with split by tokens all entries go to the one stream;
   * by documents an entry's split is its hash's, and the one going on in the next block (the only multi entry) is
   * decided from its own first part, as {@link #decide} does.
   */
  static Summary localSummary(EncodedBlock b, boolean tokensMode, int seqLen, long seed, double valFraction) {
    if (!tokensMode && b.firstContinues) {
      return null;
    }
    long[] continued = new long[0]; // never read: by tokens nothing is looked up, by documents b continues nothing
    Map<Long, Byte> leadSplit = new HashMap<>();
    if (!tokensMode && b.lastGoesOn && b.docs > 0) {
      leadSplit.put(b.key[b.docs - 1], (byte) Pieces.splitOf(b.hashHi[b.docs - 1], seed, valFraction));
    }
    return summarize(b, new Decisions(Set.of(), leadSplit, continued), tokensMode, seqLen);
  }

  /**
   * Every block's summary in block order: the heads' local ones when no document is dropped and every block has
   * one (no pass over the data), else a pass over the cached blocks.
   */
  public static List<Summary> summaries(SparkSession spark, JavaRDD<EncodedBlock> blocks,
      List<EncodedBlock.Head> heads, Decisions decisions, boolean tokensMode, int seqLen) {
    if (decisions.dropped().isEmpty() && heads.stream().allMatch(h -> h.local() != null)) {
      List<Summary> out = new java.util.ArrayList<>(heads.stream().map(EncodedBlock.Head::local).toList());
      out.sort(java.util.Comparator.comparingInt(Summary::order));
      return out;
    }
    return summarize(spark, blocks, decisions, tokensMode, seqLen);
  }

  /** Summarises every block (a pass over the cached blocks); the list is in block order. */
  static List<Summary> summarize(SparkSession spark, JavaRDD<EncodedBlock> blocks, Decisions decisions,
      boolean tokensMode, int seqLen) {
    Broadcast<Decisions> shared = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(decisions);
    try {
      List<Summary> out = new java.util.ArrayList<>(blocks.map(new Summarize(shared, tokensMode, seqLen)).collect());
      out.sort(java.util.Comparator.comparingInt(Summary::order));
      return out;
    } finally {
      shared.destroy();
    }
  }

  static final class Summarize implements Function<EncodedBlock, Summary> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<Decisions> decisions;
    private final boolean tokensMode;
    private final int seqLen;

    Summarize(Broadcast<Decisions> decisions, boolean tokensMode, int seqLen) {
      this.decisions = decisions;
      this.tokensMode = tokensMode;
      this.seqLen = seqLen;
    }

    @Override
    public Summary call(EncodedBlock b) {
      return summarize(b, decisions.value(), tokensMode, seqLen);
    }
  }

  static Summary summarize(EncodedBlock b, Decisions d, boolean tokensMode, int seqLen) {
    int streams = tokensMode ? 1 : 2;
    long[] tokens = new long[streams];
    int[][] heads = new int[streams][];
    int[] filled = new int[streams];
    for (int s = 0; s < streams; s++) {
      heads[s] = new int[seqLen];
    }
    for (int i = 0; i < b.docs; i++) {
      int s = d.streamOf(b, i, tokensMode);
      if (s < 0) {
        continue;
      }
      int from = b.start(i);
      int to = b.end[i];
      tokens[s] += to - from;
      int take = Math.min(seqLen - filled[s], to - from);
      b.tokens.copyTo(from, heads[s], filled[s], take);
      filled[s] += take;
    }
    for (int s = 0; s < streams; s++) {
      heads[s] = Arrays.copyOf(heads[s], filled[s]);
    }
    return new Summary(b.order, b.readCounts(), tokens, heads);
  }

  final Decisions decisions;
  final boolean tokensMode;
  final int seqLen;
  /** [stream][block]: position of the block's first kept token in the stream. */
  final long[][] start;
  /** [stream][block]: the (up to seq_len) tokens that follow the block's part of the stream. */
  final int[][][] lookahead;
  /** Tokens per split (train, val); with split: tokens, train is the stream's first {@code boundary} tokens. */
  final long[] splitTokens;
  final long boundary;
  /** [block]: documents of the block's file begun in earlier blocks (the doc_id column counts them). */
  final long[] docBase;

  private BlockLayout(Decisions decisions, boolean tokensMode, int seqLen, long[][] start, int[][][] lookahead,
      long[] splitTokens, long boundary, long[] docBase) {
    this.decisions = decisions;
    this.tokensMode = tokensMode;
    this.seqLen = seqLen;
    this.start = start;
    this.lookahead = lookahead;
    this.splitTokens = splitTokens;
    this.boundary = boundary;
    this.docBase = docBase;
  }

  /** Lays out the streams from every block's summary and head (both indexed by block order). */
  public static BlockLayout plan(Decisions decisions, List<Summary> summaries, List<EncodedBlock.Head> heads,
      boolean tokensMode, double valFraction, int seqLen) {
    int blocks = summaries.size();
    int streams = tokensMode ? 1 : 2;
    long[][] start = new long[streams][blocks];
    int[][][] lookahead = new int[streams][blocks][];
    long[] totals = new long[streams];
    for (int s = 0; s < streams; s++) {
      for (int k = 0; k < blocks; k++) {
        start[s][k] = totals[s];
        totals[s] += summaries.get(k).tokens()[s];
      }
      int[] after = new int[0];
      for (int k = blocks - 1; k >= 0; k--) {
        lookahead[s][k] = after;
        int[] head = summaries.get(k).heads()[s];
        int[] joined = Arrays.copyOf(head, Math.min(seqLen, head.length + after.length));
        System.arraycopy(after, 0, joined, head.length, joined.length - head.length);
        after = joined;
      }
    }
    long boundary;
    long[] splitTokens;
    if (tokensMode) {
      boundary = totals[0] - Math.round(totals[0] * valFraction);
      splitTokens = new long[] {boundary, totals[0] - boundary};
    } else {
      boundary = -1;
      splitTokens = totals;
    }
    long[] docBase = new long[blocks];
    for (int k = 1; k < blocks; k++) {
      EncodedBlock.Head prev = heads.get(k - 1);
      docBase[k] = prev.fileIndex() == heads.get(k).fileIndex() ? docBase[k - 1] + prev.docsRead() : 0;
    }
    return new BlockLayout(decisions, tokensMode, seqLen, start, lookahead, splitTokens, boundary, docBase);
  }

  public long[] splitTokens() {
    return splitTokens.clone();
  }

  /** Rows of split {@code split}. */
  public long rows(int split) {
    return BlockPacker.rowCount(splitTokens[split], seqLen);
  }
}
