package dev.sparkgpt.data;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The write pass for one block (on an executor): the rows that start in the block's part of each split, built from
 * its own tokens and the layout's lookahead, written as {@code <split>/part-<block>.parquet}. Returns what it wrote
 * so that the manifest counts committed files, not task attempts.
 */
final class BlockWriter {
  private BlockWriter() {}

  /** One written shard, and the documents of the block that have tokens in each split. */
  record Written(int split, String path, long rows, long bytes, String sha256) implements Serializable {}

  record Result(int order, List<Written> files, long[] documents) implements Serializable {}

  /** A block's part of one stream: its kept tokens, copied together, and the documents they belong to. */
  private static final class Part {
    IntChunks tokens;
    int size;
    long[] docId;
    int[] docEnd;
    boolean[] continuation;
    int docs;
  }

  static Result write(EncodedBlock b, BlockLayout layout, Path dir, String attempt, int padId, Configuration conf)
      throws IOException {
    List<Written> files = new ArrayList<>();
    long[] documents = new long[2];
    int streams = layout.tokensMode ? 1 : 2;
    for (int s = 0; s < streams; s++) {
      Part part = part(b, layout, s);
      long g0 = layout.start[s][b.order];
      if (!layout.tokensMode) {
        documents[s] += countDocs(part, g0, -1, Long.MAX_VALUE);
        writeSplit(b, layout, part, s, g0, 0, g0, g0 + part.size, dir, attempt, padId, conf, files);
        continue;
      }
      long bound = layout.boundary;
      documents[BlockPacker.TRAIN] += countDocs(part, g0, -1, bound);
      documents[BlockPacker.VAL] += countDocs(part, g0, bound, Long.MAX_VALUE);
      writeSplit(b, layout, part, BlockPacker.TRAIN, g0, 0, g0, Math.min(g0 + part.size, bound), dir, attempt,
          padId, conf, files);
      writeSplit(b, layout, part, BlockPacker.VAL, g0, bound, Math.max(g0, bound), g0 + part.size, dir, attempt,
          padId, conf, files);
    }
    return new Result(b.order, files, documents);
  }

  private static Part part(EncodedBlock b, BlockLayout layout, int stream) {
    Part p = new Part();
    boolean all = true;
    for (int i = 0; i < b.docs && all; i++) {
      all = layout.decisions.streamOf(b, i, layout.tokensMode) == stream;
    }
    p.tokens = all ? b.tokens : new IntChunks(); // the common case (nothing dropped, one stream): no copy
    p.docId = new long[b.docs];
    p.docEnd = new int[b.docs];
    p.continuation = new boolean[b.docs];
    long fileBits = ((long) b.fileIndex) << 32;
    for (int i = 0; i < b.docs; i++) {
      if (layout.decisions.streamOf(b, i, layout.tokensMode) != stream) {
        continue;
      }
      int from = b.start(i);
      int n = b.end[i] - from;
      if (!all) {
        p.tokens.addRange(b.tokens, from, n);
      }
      p.size += n;
      boolean cont = i == 0 && b.firstContinues;
      p.docId[p.docs] = fileBits | (layout.docBase[b.order] + (cont ? -1 : b.ordinal[i]));
      p.docEnd[p.docs] = p.size;
      p.continuation[p.docs] = cont;
      p.docs++;
    }
    return p;
  }

  /**
   * Documents of the part with tokens in stream positions [from, to), counted once per corpus: a continuation
   * counts only where a split begins inside it (its earlier parts lie before {@code from}).
   */
  private static long countDocs(Part p, long g0, long from, long to) {
    long n = 0;
    for (int i = 0; i < p.docs; i++) {
      long s = g0 + (i == 0 ? 0 : p.docEnd[i - 1]);
      long e = g0 + p.docEnd[i];
      if (e <= Math.max(from, s) || s >= to) {
        continue;
      }
      if (!p.continuation[i] || (from >= 0 && s <= from)) {
        n++;
      }
    }
    return n;
  }

  /** Writes the rows of {@code split} whose first token lies in stream positions [ownFrom, ownTo). */
  private static void writeSplit(EncodedBlock b, BlockLayout layout, Part part, int split, long g0, long base,
      long ownFrom, long ownTo, Path dir, String attempt, int padId, Configuration conf, List<Written> files)
      throws IOException {
    int seqLen = layout.seqLen;
    long total = layout.splitTokens[split];
    long rows = BlockPacker.rowCount(total, seqLen);
    if (ownTo <= ownFrom || rows == 0) {
      return;
    }
    long row = (ownFrom - base + seqLen - 1) / seqLen;
    if (row >= rows || base + row * seqLen >= ownTo) {
      return;
    }
    int[] lookahead = layout.lookahead[layout.tokensMode ? 0 : split][b.order];
    String name = BlockPacker.SPLIT_NAMES[split] + "/" + String.format("part-%05d.parquet", b.order);
    Path file = new Path(dir, name);
    int[] tokens = new int[seqLen + 1];
    int doc = 0;
    org.apache.spark.TaskContext task = org.apache.spark.TaskContext.get();
    try (ShardWriter out = new ShardWriter(file, attempt, conf)) {
      for (; row < rows && base + row * seqLen < ownTo; row++) {
        long first = base + row * seqLen;
        int local = (int) (first - g0);
        int length = BlockPacker.rowLength(row, total, seqLen);
        int own = Math.min(length, part.size - local);
        part.tokens.copyTo(local, tokens, 0, own);
        if (own < length) {
          System.arraycopy(lookahead, 0, tokens, own, length - own);
        }
        java.util.Arrays.fill(tokens, length, tokens.length, padId);
        while (part.docEnd[doc] <= local) {
          doc++;
        }
        out.write(tokens, length, part.docId[doc], row * seqLen);
        if (task != null && (row & 63) == 0) {
          task.killTaskIfInterrupted(); // a killed attempt stops mid-file; its temporary file is removed later
        }
      }
      out.commit();
      files.add(new Written(split, name, out.rows(), out.bytes(), out.sha256()));
    }
  }
}
