package dev.sparkgpt.data;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Packs encoded document pieces into training rows (see docs/shard-format.md). Per split, the pieces in
 * (doc_id, piece) order, with {@code <|endoftext|>} after each document's last piece, form one token stream of T
 * tokens. Row b holds stream positions [b·S, b·S + S] (S = seq_len, so S + 1 tokens and consecutive rows share one
 * token): every next-token pair of the stream appears in exactly one row. The last row may be short: it is padded
 * with the pad id and its {@code length} column says how many tokens are real.
 *
 * <p>The driver computes where each piece lands ({@link #place}), executors cut pieces into fragments per row
 * ({@link #fragments}), and rows are assembled from their fragments after a shuffle ({@link #assemble}).
 */
public final class BlockPacker {
  public static final int TRAIN = 0;
  public static final int VAL = 1;
  public static final String[] SPLIT_NAMES = {"train", "val"};

  private BlockPacker() {}

  /** Identifies a piece: the document and the piece's index within it. */
  public record PieceKey(long docId, int piece) implements Serializable, Comparable<PieceKey> {
    @Override
    public int compareTo(PieceKey o) {
      int c = Long.compare(docId, o.docId);
      return c != 0 ? c : Integer.compare(piece, o.piece);
    }
  }

  /** An encoded piece's size: tokens including the trailing end-of-text of a document's last piece. */
  public record PieceCount(PieceKey key, int split, int tokens) implements Serializable {}

  /** Piece tokens [from, to) go to {@code split}'s stream starting at {@code streamOffset}. */
  public record Segment(int split, long streamOffset, int from, int to) implements Serializable {}

  /** Part of one row: tokens placed at {@code start} within row {@code row} of {@code split}. */
  public record Fragment(int split, long row, int start, int[] tokens, long docId) implements Serializable {}

  /** Where every piece lands and how long each split's stream is. */
  public record Placement(Map<PieceKey, List<Segment>> segments, long[] splitTokens) implements Serializable {}

  /**
   * Lays out the streams. {@code byTokens}: all pieces form one stream whose last {@code valFraction} of tokens
   * become the val split (the book's 90/10 split of a single text); otherwise each piece keeps its document's split.
   */
  public static Placement place(List<PieceCount> counts, boolean byTokens, double valFraction) {
    List<PieceCount> sorted = new ArrayList<>(counts);
    sorted.sort((a, b) -> a.key().compareTo(b.key()));
    Map<PieceKey, List<Segment>> segments = new HashMap<>(sorted.size() * 2);
    long[] totals = new long[2];
    if (byTokens) {
      long all = 0;
      for (PieceCount c : sorted) {
        all += c.tokens();
      }
      long boundary = all - Math.round(all * valFraction);
      long pos = 0;
      for (PieceCount c : sorted) {
        List<Segment> list = new ArrayList<>(1);
        long end = pos + c.tokens();
        if (pos < boundary) {
          int to = (int) (Math.min(end, boundary) - pos);
          list.add(new Segment(TRAIN, pos, 0, to));
        }
        if (end > boundary) {
          int from = (int) (Math.max(pos, boundary) - pos);
          list.add(new Segment(VAL, pos + from - boundary, from, c.tokens()));
        }
        segments.put(c.key(), list);
        pos = end;
      }
      totals[TRAIN] = boundary;
      totals[VAL] = all - boundary;
    } else {
      for (PieceCount c : sorted) {
        segments.put(c.key(), List.of(new Segment(c.split(), totals[c.split()], 0, c.tokens())));
        totals[c.split()] += c.tokens();
      }
    }
    return new Placement(segments, totals);
  }

  /** Rows of a stream of {@code total} tokens: one per next-token pair block; zero when fewer than 2 tokens. */
  public static long rowCount(long total, int seqLen) {
    return total < 2 ? 0 : (total - 2) / seqLen + 1;
  }

  /** Real tokens in row {@code row} of a stream of {@code total} tokens. */
  public static int rowLength(long row, long total, int seqLen) {
    return (int) Math.min(seqLen + 1L, total - row * seqLen);
  }

  /** Cuts one encoded piece into the fragments of the rows it touches. */
  public static List<Fragment> fragments(int[] tokens, long docId, List<Segment> segments, int seqLen,
      long[] splitTokens) {
    List<Fragment> out = new ArrayList<>();
    for (Segment seg : segments) {
      long rows = rowCount(splitTokens[seg.split()], seqLen);
      if (rows == 0 || seg.to() <= seg.from()) {
        continue;
      }
      long first = seg.streamOffset();
      long last = first + (seg.to() - seg.from()) - 1;
      // Position p lies in row p/S, and also in row p/S - 1 when p is a multiple of S (the shared token).
      long rowFirst = first == 0 ? 0 : (first - 1) / seqLen;
      long rowLast = Math.min(rows - 1, last / seqLen);
      for (long row = rowFirst; row <= rowLast; row++) {
        long rowStart = row * seqLen;
        long from = Math.max(first, rowStart);
        long to = Math.min(last, rowStart + seqLen);
        if (from > to) {
          continue;
        }
        int[] part = new int[(int) (to - from + 1)];
        System.arraycopy(tokens, seg.from() + (int) (from - first), part, 0, part.length);
        out.add(new Fragment(seg.split(), row, (int) (from - rowStart), part, docId));
      }
    }
    return out;
  }

  /** One finished row: S + 1 tokens (padded), how many are real, the document of its first token, its offset. */
  public record Row(long row, int[] tokens, int length, long docId, long offset) implements Serializable {}

  /** Assembles a row from all its fragments (in any order). */
  public static Row assemble(long row, List<Fragment> fragments, int seqLen, long splitTotal, int padId) {
    int[] tokens = new int[seqLen + 1];
    java.util.Arrays.fill(tokens, padId);
    int length = rowLength(row, splitTotal, seqLen);
    long docId = -1;
    int filled = 0;
    for (Fragment f : fragments) {
      System.arraycopy(f.tokens(), 0, tokens, f.start(), f.tokens().length);
      filled += f.tokens().length;
      if (f.start() == 0) {
        docId = f.docId();
      }
    }
    if (filled != length) {
      throw new IllegalStateException("row " + row + " assembled " + filled + " tokens, expected " + length);
    }
    return new Row(row, tokens, length, docId, row * seqLen);
  }
}
