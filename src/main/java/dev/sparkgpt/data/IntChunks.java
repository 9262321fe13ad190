package dev.sparkgpt.data;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A growable run of ints held in fixed chunks of {@value #CHUNK} (512 KB) instead of one array: a split's tokens
 * (millions of ids) never become one huge array, which G1 allocates as a humongous object straight into the old
 * generation, each growth starting a concurrent marking cycle that takes CPU from the encoding tasks (measured:
 * ~18 cycles per 108 MB tokenize run, and about 1 s of the encode pass's 2.5 s).
 */
final class IntChunks implements Serializable {
  private static final long serialVersionUID = 1L;
  static final int SHIFT = 17;
  static final int CHUNK = 1 << SHIFT;
  private static final int MASK = CHUNK - 1;

  private int[][] chunks = new int[0][];
  private int size;

  int size() {
    return size;
  }

  int get(int i) {
    return chunks[i >>> SHIFT][i & MASK];
  }

  void add(int v) {
    room(1);
    chunks[size >>> SHIFT][size & MASK] = v;
    size++;
  }

  void addAll(int[] values) {
    addAll(values, 0, values.length);
  }

  void addAll(int[] values, int from, int length) {
    room(length);
    int done = 0;
    while (done < length) {
      int at = size & MASK;
      int n = Math.min(length - done, CHUNK - at);
      System.arraycopy(values, from + done, chunks[size >>> SHIFT], at, n);
      size += n;
      done += n;
    }
  }

  /** Appends {@code other[from, from + length)}. */
  void addRange(IntChunks other, int from, int length) {
    int done = 0;
    while (done < length) {
      int i = from + done;
      int n = Math.min(length - done, CHUNK - (i & MASK));
      addAll(other.chunks[i >>> SHIFT], i & MASK, n);
      done += n;
    }
  }

  /** Copies {@code [from, from + length)} into {@code dst} at {@code at}. */
  void copyTo(int from, int[] dst, int at, int length) {
    int done = 0;
    while (done < length) {
      int i = from + done;
      int n = Math.min(length - done, CHUNK - (i & MASK));
      System.arraycopy(chunks[i >>> SHIFT], i & MASK, dst, at + done, n);
      done += n;
    }
  }

  /** Drops everything from {@code length} on. */
  void truncate(int length) {
    if (length < 0 || length > size) {
      throw new IndexOutOfBoundsException(length + " of " + size);
    }
    size = length;
  }

  /** Frees unused chunks and the unused tail of the last one. */
  void trim() {
    int used = (size + MASK) >>> SHIFT;
    chunks = Arrays.copyOf(chunks, used);
    if (used > 0 && (size & MASK) != 0) {
      chunks[used - 1] = Arrays.copyOf(chunks[used - 1], size & MASK);
    }
  }

  private void room(int n) {
    long need = (long) size + n;
    if (need > Integer.MAX_VALUE - CHUNK) {
      throw new IllegalStateException("more than 2^31 ids in one block");
    }
    int chunksNeeded = (int) ((need + MASK) >>> SHIFT);
    if (chunksNeeded > chunks.length) {
      chunks = Arrays.copyOf(chunks, Math.max(chunksNeeded, chunks.length * 2));
    }
    for (int c = size >>> SHIFT; c < chunksNeeded; c++) {
      if (chunks[c] == null) {
        chunks[c] = new int[CHUNK];
      } else if (chunks[c].length < CHUNK) { // a trimmed last chunk grows back
        chunks[c] = Arrays.copyOf(chunks[c], CHUNK);
      }
    }
  }
}
