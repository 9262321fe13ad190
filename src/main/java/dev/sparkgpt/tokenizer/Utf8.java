package dev.sparkgpt.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * UTF-8 decoding that replaces ill-formed input exactly as Python's {@code bytes.decode("utf-8", "replace")} does,
 * which is what tiktoken's {@code decode} returns: one U+FFFD per maximal subpart of an ill-formed sequence (Unicode
 * §3.9, "U+FFFD substitution of maximal subparts").
 *
 * <p>Java's own decoder agrees except for surrogate code points: for {@code ED A0 80} it emits one U+FFFD where
 * Python emits three (ED may only be followed by 80..9F, so each byte is its own subpart). Utf8Test pins both.
 */
final class Utf8 {
  private static final char REPLACEMENT = '\uFFFD';

  private Utf8() {}

  /** Decodes {@code bytes}, replacing ill-formed parts with U+FFFD. */
  static String decode(byte[] bytes) {
    String fast = new String(bytes, StandardCharsets.UTF_8);
    // Valid input never yields U+FFFD unless it encodes one itself; only then is the careful pass needed.
    return fast.indexOf(REPLACEMENT) < 0 ? fast : decodeCarefully(bytes);
  }

  private static String decodeCarefully(byte[] bytes) {
    StringBuilder out = new StringBuilder(bytes.length);
    int n = bytes.length;
    int i = 0;
    while (i < n) {
      int b0 = bytes[i] & 0xFF;
      if (b0 < 0x80) {
        out.append((char) b0);
        i++;
        continue;
      }
      // Continuation bytes needed and the allowed range of the first one (Unicode Table 3-7).
      int need;
      int lo = 0x80;
      int hi = 0xBF;
      if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
      } else if (b0 == 0xE0) {
        need = 2;
        lo = 0xA0;
      } else if (b0 == 0xED) {
        need = 2;
        hi = 0x9F; // excludes the UTF-16 surrogates D800..DFFF
      } else if (b0 >= 0xE1 && b0 <= 0xEF) {
        need = 2;
      } else if (b0 == 0xF0) {
        need = 3;
        lo = 0x90;
      } else if (b0 >= 0xF1 && b0 <= 0xF3) {
        need = 3;
      } else if (b0 == 0xF4) {
        need = 3;
        hi = 0x8F; // nothing above U+10FFFF
      } else {
        out.append(REPLACEMENT); // 80..C1, F5..FF can never start a sequence
        i++;
        continue;
      }
      int codePoint = b0 & (0x3F >> need);
      int j = i + 1;
      boolean complete = true;
      for (int k = 0; k < need; k++, j++) {
        int b = j < n ? bytes[j] & 0xFF : -1;
        if (b < (k == 0 ? lo : 0x80) || b > (k == 0 ? hi : 0xBF)) {
          complete = false;
          break;
        }
        codePoint = (codePoint << 6) | (b & 0x3F);
      }
      if (complete) {
        out.appendCodePoint(codePoint);
      } else {
        out.append(REPLACEMENT); // the bytes read so far are one maximal subpart; resume at the offending byte
      }
      i = j;
    }
    return out.toString();
  }
}
