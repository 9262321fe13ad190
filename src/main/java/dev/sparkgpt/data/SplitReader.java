package dev.sparkgpt.data;

import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.TextSplitter;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads the documents of one {@link InputSplit} of a .txt or .jsonl file (optionally compressed) as a stream of
 * pieces, in bounded memory: a document is never held whole unless it is a JSON value (at most
 * {@code max_doc_chars}). Pieces are cut only where ids cannot change ({@link TextSplitter}).
 */
public final class SplitReader {
  private SplitReader() {}

  /** What reading needs from the tokenize config. */
  public record Options(String textField, String docSeparator, boolean normalizeNewlines, int chunkChars,
      int maxDocChars) implements Serializable {}

  /** Receives documents piece by piece. */
  public interface Sink {
    /**
     * A document begins: {@code key} orders documents across the corpus, {@code ordinal} counts the documents begun
     * in this split (-1 with {@code continues}: the document began in an earlier split).
     */
    void begin(long key, int ordinal, boolean continues);

    /** The next piece of the current document. */
    void text(String piece);

    /** The document ends ({@code complete}) or goes on in the next split. */
    void end(boolean complete);
  }

  /** What reading found besides documents. */
  public static final class Stats implements Serializable {
    private static final long serialVersionUID = 1L;
    public long replacedBytes;
    public boolean bom;
    public long truncated;
    public long skippedLong;
    public long bytesRead;
  }

  /** Reads {@code split} into {@code sink}; errors name the file (and the line for JSONL). */
  public static Stats read(InputSplit split, Options options, Configuration conf, Sink sink) {
    SourceFile file = split.file();
    Path path = new Path(file.path());
    Stats stats = new Stats();
    try {
      FileSystem fs = path.getFileSystem(conf);
      long start = 0;
      long end = Long.MAX_VALUE;
      boolean continues = false;
      boolean endContinues = false;
      InputStream in;
      if (file.compression() != null) {
        in = Decompress.open(fs.open(path), file);
      } else {
        FSDataInputStream raw = fs.open(path);
        long window = Math.max(1 << 16, split.end() - split.start());
        InputSplit.Boundary a = InputSplit.align(raw, split.start(), file.bytes(), file.format(),
            options.docSeparator(), window);
        InputSplit.Boundary b = InputSplit.align(raw, split.end(), file.bytes(), file.format(),
            options.docSeparator(), window);
        start = a.at();
        end = b.at();
        continues = a.continues();
        endContinues = b.continues();
        raw.seek(start);
        in = new Limited(raw, Math.max(0, end - start));
      }
      if (end <= start) {
        in.close();
        return stats;
      }
      long base = (((long) file.index()) << 40) + start;
      try (Utf8Reader reader = new Utf8Reader(in, start == 0)) {
        switch (file.format()) {
          case "txt" -> {
            if (options.docSeparator() == null) {
              TextStream.single(reader, options, base, continues, endContinues, sink);
            } else {
              TextStream.separated(reader, options, base, continues, endContinues, sink);
            }
          }
          case "jsonl" -> JsonLines.read(reader, file, start, options, base, stats, sink);
          default -> throw new IllegalArgumentException("not a text format: " + file.format());
        }
        stats.replacedBytes = reader.replacedBytes();
        stats.bom = reader.droppedBom();
      }
      stats.bytesRead = file.compression() != null ? file.bytes() : end - start;
      return stats;
    } catch (InputException e) {
      throw e;
    } catch (IOException e) {
      throw Decompress.explain(file, e);
    }
  }

  /** Emits one in-memory document: newlines normalised, cut to max_doc_chars (counted), split into pieces. */
  public static void emit(long key, int ordinal, String text, Options options, Stats stats, Sink sink) {
    String t = options.normalizeNewlines() ? DocumentReader.normalizeNewlines(text) : text;
    if (t.length() > options.maxDocChars()) {
      int cut = options.maxDocChars();
      if (Character.isHighSurrogate(t.charAt(cut - 1))) {
        cut--;
      }
      t = t.substring(0, cut);
      stats.truncated++;
    }
    sink.begin(key, ordinal, false);
    List<String> pieces = t.length() <= options.chunkChars() ? List.of(t) : TextSplitter.split(t, options.chunkChars());
    pieces.forEach(sink::text);
    sink.end(true);
  }

  /** At most {@code limit} bytes of a stream. */
  static final class Limited extends InputStream {
    private final InputStream in;
    private long left;

    Limited(InputStream in, long limit) {
      this.in = in;
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      int b = in.read();
      if (b >= 0) {
        left--;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
