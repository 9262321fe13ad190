package dev.sparkgpt.data;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The encoded documents of one input split, in input order: one token array (each complete document followed by
 * {@code <|endoftext|>}) and a table of its documents. Cached between the tokenize job's passes; the layout on the
 * driver decides where its tokens land in the split streams, without moving them.
 */
public final class EncodedBlock implements Serializable {
  private static final long serialVersionUID = 1L;
  /** Split of a document that spans input splits: decided on the driver from its first part. */
  public static final byte MULTI = 2;

  int order;
  int fileIndex;
  final IntChunks tokens = new IntChunks();
  int docs;
  long[] key = new long[16];
  int[] end = new int[16];
  int[] ordinal = new int[16];
  byte[] split = new byte[16];
  long[] hashHi = new long[16];
  long[] hashLo = new long[16];
  /** The first document began in an earlier split; the last one goes on in the next split. */
  boolean firstContinues;
  boolean lastGoesOn;
  /** Documents begun here (read, before any drop), and what reading and cleaning counted. */
  long docsRead;
  long droppedShort;
  long truncated;
  long skippedLong;
  long replacedBytes;
  boolean bom;
  long chars;
  long bytesRead;

  public int order() {
    return order;
  }

  public int fileIndex() {
    return fileIndex;
  }

  public int documents() {
    return docs;
  }

  /** Token range [start(i), end(i)) of document entry i. */
  public int start(int i) {
    return i == 0 ? 0 : end[i - 1];
  }

  public int end(int i) {
    return end[i];
  }

  public long key(int i) {
    return key[i];
  }

  public byte split(int i) {
    return split[i];
  }

  public int ordinal(int i) {
    return ordinal[i];
  }

  public int tokenCount() {
    return tokens.size();
  }

  public int token(int i) {
    return tokens.get(i);
  }

  /** Whether entry i is part of a document that spans splits. */
  public boolean multi(int i) {
    return split[i] == MULTI;
  }

  void append(int[] ids) {
    tokens.addAll(ids);
  }

  void append(int id) {
    tokens.add(id);
  }

  void addDoc(long k, int ord, byte s, long hi, long lo) {
    if (docs == key.length) {
      int n = docs * 2;
      key = Arrays.copyOf(key, n);
      end = Arrays.copyOf(end, n);
      ordinal = Arrays.copyOf(ordinal, n);
      split = Arrays.copyOf(split, n);
      hashHi = Arrays.copyOf(hashHi, n);
      hashLo = Arrays.copyOf(hashLo, n);
    }
    key[docs] = k;
    end[docs] = tokens.size();
    ordinal[docs] = ord;
    split[docs] = s;
    hashHi[docs] = hi;
    hashLo[docs] = lo;
    docs++;
  }

  /** Drops the tail of the token array back to {@code length} (a document found too short after encoding). */
  void truncateTokens(int length) {
    tokens.truncate(length);
  }

  /** Frees the unused capacity before caching. */
  void trim() {
    tokens.trim();
    key = Arrays.copyOf(key, docs);
    end = Arrays.copyOf(end, docs);
    ordinal = Arrays.copyOf(ordinal, docs);
    split = Arrays.copyOf(split, docs);
    hashHi = Arrays.copyOf(hashHi, docs);
    hashLo = Arrays.copyOf(hashLo, docs);
  }

  /**
   * The small facts about a block the driver needs before the layout (no tokens but the summary's heads).
   * {@code local} is the block's {@link BlockLayout.Summary} if no document is dropped, when it depends on this block
   * alone (null otherwise; see {@link BlockLayout#localSummary}). {@code dedup} holds (hash hi, hash lo, key) of
   * every document beginning here when the driver de-duplicates (null: the hashes are shuffled instead).
   */
  public record Head(int order, int fileIndex, long docsRead, boolean firstContinues, boolean lastGoesOn,
      long lastKey, long lastHashHi, long lastHashLo, BlockLayout.Summary local, long[] dedup)
      implements Serializable {}

  Head head(BlockLayout.Summary local, int dedupCap) {
    int last = docs - 1;
    int first = firstContinues ? 1 : 0;
    long[] dedup = null;
    if (dedupCap > 0 && docs - first <= dedupCap) {
      dedup = new long[3 * Math.max(0, docs - first)];
      for (int i = first, j = 0; i < docs; i++, j += 3) {
        dedup[j] = hashHi[i];
        dedup[j + 1] = hashLo[i];
        dedup[j + 2] = key[i];
      }
    }
    return new Head(order, fileIndex, docsRead, firstContinues, lastGoesOn, last >= 0 ? key[last] : -1,
        last >= 0 ? hashHi[last] : 0, last >= 0 ? hashLo[last] : 0, local, dedup);
  }

  /** Reading counts of this block (documents read, dropped short, cut, skipped, bytes not UTF-8, BOM). */
  public record ReadCounts(int fileIndex, long docsRead, long droppedShort, long truncated, long skippedLong,
      long replacedBytes, boolean bom, long chars) implements Serializable {}

  public ReadCounts readCounts() {
    return new ReadCounts(fileIndex, docsRead, droppedShort, truncated, skippedLong, replacedBytes, bom, chars);
  }
}
