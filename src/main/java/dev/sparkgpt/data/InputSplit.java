package dev.sparkgpt.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.FSDataInputStream;

/**
 * One byte range of one input file: the unit of reading and encoding (one Spark task). The driver cuts files at
 * nominal offsets ({@link #plan}); the task moves both ends forward to the next place where the text may be cut
 * ({@link #align}), so neighbouring tasks agree on the boundary without talking and no byte is read twice. A
 * compressed file or Parquet file is one split.
 *
 * <p>Boundaries by kind: JSONL after a line break; text with a document separator after a separator line (else,
 * when none is near, at a line break after a printable ASCII char, the document going on in the next split); text
 * without separator (one document per file) before an ASCII whitespace byte that follows a printable ASCII char —
 * rule A of {@link dev.sparkgpt.tokenizer.TextSplitter}, so the ids equal those of the whole file.
 */
public record InputSplit(SourceFile file, int index, long start, long end) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** A boundary: where a split starts, and whether the document there began in the previous split. */
  public record Boundary(long at, boolean continues) {}

  /** Splits every file into ranges of about {@code splitBytes}; unsplittable files are one split each. */
  public static List<InputSplit> plan(List<SourceFile> files, long splitBytes) {
    List<InputSplit> splits = new ArrayList<>();
    for (SourceFile f : files) {
      boolean splittable = f.compression() == null && !"parquet".equals(f.format());
      long n = splittable ? Math.max(1, (f.bytes() + splitBytes - 1) / splitBytes) : 1;
      for (long i = 0; i < n; i++) {
        long end = i == n - 1 ? f.bytes() : (i + 1) * splitBytes;
        splits.add(new InputSplit(f, (int) i, i * splitBytes, splittable ? end : Long.MAX_VALUE));
      }
    }
    return splits;
  }

  /** About three splits per core, between 1 MB and {@code maxBytes}: small corpora still use every core. */
  public static long splitBytes(long totalBytes, int cores, long maxBytes) {
    return Math.max(1L << 20, Math.min(maxBytes, totalBytes / Math.max(1, cores * 3L) + 1));
  }

  /**
   * The first boundary at or after {@code pos} of a file of {@code length} bytes ({@code separator} null: one
   * document per file). Reads from {@code in} (seeks); {@code window} bounds the search for a separator line.
   */
  public static Boundary align(FSDataInputStream in, long pos, long length, String format, String separator,
      long window) throws IOException {
    if (pos <= 0) {
      return new Boundary(0, false);
    }
    if (pos >= length) {
      return new Boundary(length, false);
    }
    if ("jsonl".equals(format)) {
      in.seek(pos - 1);
      long q = scan(in, pos - 1, length, (prev, b) -> prev == '\n');
      return new Boundary(q, false);
    }
    if (separator == null) {
      in.seek(pos - 1);
      long q = scan(in, pos - 1, length, (prev, b) -> isAsciiPrintable(prev) && isAsciiSpace(b));
      return new Boundary(q, q < length);
    }
    byte[] sep = separator.getBytes(StandardCharsets.UTF_8);
    long from = Math.max(0, pos - sep.length - 2);
    Long afterSeparator = separatorEnd(in, from, pos, Math.min(length, pos + window), sep);
    if (afterSeparator != null) {
      return new Boundary(afterSeparator, false);
    }
    // No separator line near: cut the document at a line break after a printable char ("...x|\ny"), rule A.
    in.seek(pos - 2 < 0 ? 0 : pos - 2);
    long q = scanTriple(in, Math.max(0, pos - 2), length, pos);
    return new Boundary(q, q < length && !endsSeparatorLine(in, q, sep));
  }

  interface Test {
    boolean at(int prev, int b);
  }

  /** The first q in (start, length] with test(byte[q-1], byte[q]) (byte[length] reads as -1); in at start. */
  private static long scan(InputStream in, long start, long length, Test test) throws IOException {
    byte[] buf = new byte[1 << 16];
    int prev = in.read();
    long q = start + 1;
    while (q < length) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, length - q));
      if (n < 0) {
        break;
      }
      for (int i = 0; i < n; i++, q++) {
        int b = buf[i] & 0xff;
        if (test.at(prev, b)) {
          return q;
        }
        prev = b;
      }
    }
    return length;
  }

  /** The first q ≥ pos with byte[q-1] == '\n' and byte[q-2] printable ASCII; in positioned at start. */
  private static long scanTriple(InputStream in, long start, long length, long pos) throws IOException {
    byte[] buf = new byte[1 << 16];
    int p2 = -1;
    int p1 = -1;
    long q = start; // q = index of the next byte to read
    while (q < length) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, length - q));
      if (n < 0) {
        break;
      }
      for (int i = 0; i < n; i++, q++) {
        if (q >= pos && p1 == '\n' && isAsciiPrintable(p2)) {
          return q;
        }
        p2 = p1;
        p1 = buf[i] & 0xff;
      }
    }
    return length;
  }

  /** The end of the first separator line whose end lies in [pos, limit), scanning lines from {@code from}. */
  private static Long separatorEnd(FSDataInputStream in, long from, long pos, long limit, byte[] sep)
      throws IOException {
    in.seek(from);
    byte[] buf = new byte[1 << 16];
    byte[] line = new byte[sep.length + 2];
    int lineLen = 0;
    boolean atLineStart = from == 0;
    boolean overflow = false;
    long q = from;
    while (q < limit) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, limit - q));
      if (n < 0) {
        break;
      }
      for (int i = 0; i < n; i++) {
        int b = buf[i] & 0xff;
        q++;
        if (b == '\n') {
          int len = lineLen > 0 && line[lineLen - 1] == '\r' ? lineLen - 1 : lineLen;
          if (atLineStart && !overflow && q >= pos && len == sep.length
              && Arrays.equals(line, 0, len, sep, 0, sep.length)) {
            return q;
          }
          atLineStart = true;
          lineLen = 0;
          overflow = false;
        } else if (lineLen < line.length) {
          line[lineLen++] = (byte) b;
        } else {
          overflow = true;
        }
      }
    }
    return null;
  }

  /** Whether the line that ends just before {@code q} (with its '\n') is the separator line. */
  private static boolean endsSeparatorLine(FSDataInputStream in, long q, byte[] sep) throws IOException {
    long from = Math.max(0, q - sep.length - 2);
    byte[] tail = new byte[(int) (q - from)];
    in.seek(from);
    in.readFully(tail);
    int end = tail.length - 1; // the '\n'
    int start = end - sep.length;
    return start >= 0 && Arrays.equals(tail, start, end, sep, 0, sep.length)
        && (start == 0 ? from == 0 : tail[start - 1] == '\n');
  }

  static boolean isAsciiPrintable(int b) {
    return b > 0x20 && b < 0x7f;
  }

  static boolean isAsciiSpace(int b) {
    return b == ' ' || (b >= 0x09 && b <= 0x0d);
  }
}
