package dev.sparkgpt.data;

import dev.sparkgpt.tokenizer.TextSplitter;
import java.io.IOException;
import java.io.Reader;

/**
 * Plain-text documents of one split, streamed: the text is buffered only until a safe cut (TextSplitter) lets a
 * piece go, so a 1.5 GB file without separator is read in pieces of about {@code chunk_chars}.
 */
final class TextStream {
  private final SplitReader.Options options;
  private final SplitReader.Sink sink;
  private final StringBuilder doc = new StringBuilder();

  private TextStream(SplitReader.Options options, SplitReader.Sink sink) {
    this.options = options;
    this.sink = sink;
  }

  /** The whole file is one document; a split after the first continues it. */
  static void single(Reader in, SplitReader.Options options, long key, boolean continues, boolean goesOn,
      SplitReader.Sink sink) throws IOException {
    TextStream s = new TextStream(options, sink);
    char[] buf = new char[1 << 16];
    boolean normalize = options.normalizeNewlines();
    boolean pendingCr = false;
    boolean begun = false;
    int n;
    while ((n = in.read(buf, 0, buf.length)) > 0) {
      if (!begun) {
        sink.begin(key, continues ? -1 : 0, continues);
        begun = true;
      }
      int from = normalize && pendingCr && buf[0] == '\n' ? 1 : 0; // the \n of a \r\n cut by the buffer
      pendingCr = false;
      if (!normalize || indexOf(buf, '\r', from, n) < 0) {
        s.doc.append(buf, from, n - from); // the common case: no \r, the buffer in bulk
      } else {
        for (int i = from; i < n; i++) {
          char c = buf[i];
          if (c == '\n' && pendingCr) {
            pendingCr = false;
            continue;
          }
          pendingCr = c == '\r';
          s.doc.append(pendingCr ? '\n' : c);
        }
      }
      s.flush(s.doc.length(), false);
    }
    if (begun) {
      s.flush(s.doc.length(), true);
      sink.end(!goesOn);
    }
  }

  /**
   * Lines (ended by \n, \r or \r\n, as BufferedReader reads them) joined with \n; a line equal to the separator
   * ends a document (an empty one too); text after the last separator is a document when not empty.
   */
  static void separated(Reader in, SplitReader.Options options, long base, boolean continues, boolean goesOn,
      SplitReader.Sink sink) throws IOException {
    TextStream s = new TextStream(options, sink);
    String sep = options.docSeparator();
    char[] buf = new char[1 << 16];
    int ordinal = 0;
    boolean open = false;       // begin() was called for the current document
    boolean needJoin = continues; // a '\n' goes before the next line
    boolean pendingCr = false;
    int lineStart = 0;
    long position = 0;
    if (continues) {
      sink.begin(base, -1, true);
      open = true;
    }
    int n;
    while ((n = in.read(buf, 0, buf.length)) > 0) {
      for (int i = 0; i < n; i++) {
        char c = buf[i];
        position++;
        if (pendingCr && c == '\n') {
          pendingCr = false;
          continue;
        }
        pendingCr = c == '\r';
        if (needJoin) {
          s.doc.append('\n');
          lineStart = s.doc.length();
          needJoin = false;
        }
        if (c != '\n' && c != '\r') {
          s.doc.append(c);
          continue;
        }
        if (s.doc.length() - lineStart == sep.length() && s.doc.indexOf(sep, lineStart) == lineStart) {
          s.doc.setLength(Math.max(0, lineStart - 1));
          if (!open) {
            sink.begin(base + position, ordinal++, false);
          }
          s.flush(s.doc.length(), true);
          sink.end(true);
          open = false;
          lineStart = 0;
        } else {
          needJoin = true;
        }
      }
      if (s.doc.length() >= 2 * options.chunkChars()) {
        if (!open) {
          sink.begin(base + position, ordinal++, false);
          open = true;
        }
        boolean lineIsNotSeparator = needJoin || s.doc.length() - lineStart > sep.length();
        s.flush(lineIsNotSeparator ? s.doc.length() : Math.max(0, lineStart - 1), false);
        lineStart = Math.max(0, lineStart - s.lastShift);
      }
    }
    if (open || s.doc.length() > 0) {
      if (!open) {
        sink.begin(base + position, ordinal, false);
      }
      s.flush(s.doc.length(), true);
      sink.end(!goesOn);
    }
  }

  private static int indexOf(char[] buf, char c, int from, int to) {
    for (int i = from; i < to; i++) {
      if (buf[i] == c) {
        return i;
      }
    }
    return -1;
  }

  private int lastShift;

  /** Hands out pieces of doc[0, limit): all of it when {@code last}, else all but what follows the last safe cut. */
  private void flush(int limit, boolean last) {
    lastShift = 0;
    if (limit <= 0) {
      return;
    }
    if (!last && limit < 2 * options.chunkChars()) {
      return;
    }
    String text = doc.substring(0, limit);
    int[] cuts = TextSplitter.cuts(text, options.chunkChars());
    int from = 0;
    for (int cut : cuts) {
      sink.text(text.substring(from, cut));
      from = cut;
    }
    if (last) {
      sink.text(text.substring(from));
      from = limit;
    }
    doc.delete(0, from);
    lastShift = from;
  }
}
