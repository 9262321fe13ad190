package dev.sparkgpt.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 text of a byte stream, the one decoder of every input path: a leading byte-order mark is dropped, and each
 * malformed sequence becomes one U+FFFD, as Java's replacing decoder does, while the bytes replaced are counted.
 */
public final class Utf8Reader extends Reader {
  private final InputStream in;
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
  private final ByteBuffer bytes = ByteBuffer.allocate(1 << 16);
  private boolean eof;
  private boolean atStart;
  private boolean bom;
  private long replacedBytes;

  /** {@code atFileStart}: the stream begins at byte 0 of the file, so a BOM there is dropped. */
  public Utf8Reader(InputStream in, boolean atFileStart) {
    this.in = in;
    this.atStart = atFileStart;
    bytes.flip();
  }

  /** Whether a byte-order mark was dropped. */
  public boolean droppedBom() {
    return bom;
  }

  /** Bytes that were not UTF-8 and became U+FFFD. */
  public long replacedBytes() {
    return replacedBytes;
  }

  @Override
  public int read(char[] out, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    CharBuffer chars = CharBuffer.wrap(out, off, len);
    while (chars.position() == off) {
      if (!eof && bytes.remaining() < 4) {
        fill();
      }
      if (atStart && (eof || bytes.remaining() >= 3)) {
        atStart = false;
        if (bytes.remaining() >= 3 && (bytes.get(bytes.position()) & 0xff) == 0xEF
            && (bytes.get(bytes.position() + 1) & 0xff) == 0xBB && (bytes.get(bytes.position() + 2) & 0xff) == 0xBF) {
          bytes.position(bytes.position() + 3);
          bom = true;
        }
      }
      CoderResult r = decoder.decode(bytes, chars, eof);
      if (r.isError()) {
        replacedBytes += r.length();
        bytes.position(bytes.position() + r.length());
        chars.put('\uFFFD');
      } else if (eof && !bytes.hasRemaining()) {
        if (chars.position() == off) {
          return -1;
        }
      } else if (r.isOverflow()) {
        break;
      }
    }
    return chars.position() - off;
  }

  private void fill() throws IOException {
    bytes.compact();
    while (bytes.hasRemaining()) {
      int n = in.read(bytes.array(), bytes.position(), bytes.remaining());
      if (n < 0) {
        eof = true;
        break;
      }
      bytes.position(bytes.position() + n);
      if (n > 0 && bytes.position() >= 4) {
        break;
      }
    }
    bytes.flip();
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
