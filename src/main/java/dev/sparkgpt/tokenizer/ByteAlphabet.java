package dev.sparkgpt.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * GPT-2's bytes_to_unicode alphabet: each of the 256 byte values as one printable char, so that encoder.json and
 * vocab.bpe can hold arbitrary bytes as text. Printable Latin-1 bytes map to themselves; the other 68 bytes (controls,
 * space, DEL, NBSP, soft hyphen…) map in byte order to U+0100, U+0101, … (space → 'Ġ', '\n' → 'Ċ').
 */
final class ByteAlphabet {
  /** The byte values in GPT-2's order: index = id of the byte's token in GPT-2's encoder.json. */
  private static final int[] BYTE_AT = new int[256];
  /** Inverse of BYTE_AT. */
  private static final int[] ORDER_OF = new int[256];
  private static final char[] CHAR_OF = new char[256];
  /** char → byte value, -1 for chars outside the alphabet (all of the alphabet lies below U+0144). */
  private static final int[] BYTE_OF_CHAR = new int[0x144];

  static {
    int n = 0;
    int shifted = 0;
    boolean[] printable = new boolean[256];
    for (int b = 0; b < 256; b++) {
      printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      if (printable[b]) {
        BYTE_AT[n++] = b;
        CHAR_OF[b] = (char) b;
      }
    }
    for (int b = 0; b < 256; b++) {
      if (!printable[b]) {
        BYTE_AT[n++] = b;
        CHAR_OF[b] = (char) (256 + shifted++);
      }
    }
    Arrays.fill(BYTE_OF_CHAR, -1);
    for (int i = 0; i < 256; i++) {
      ORDER_OF[BYTE_AT[i]] = i;
      BYTE_OF_CHAR[CHAR_OF[BYTE_AT[i]]] = BYTE_AT[i];
    }
  }

  private ByteAlphabet() {}

  /** The byte value whose token has id {@code index} in GPT-2's order (0 → '!', 188 → 0x00). */
  static int byteAt(int index) {
    return BYTE_AT[index];
  }

  /** The position of byte value {@code b} (0..255) in GPT-2's order. */
  static int orderOf(int b) {
    return ORDER_OF[b];
  }

  /** Token bytes as alphabet text, e.g. {@code " the"} → {@code "Ġthe"}. */
  static String toText(byte[] bytes) {
    char[] chars = new char[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      chars[i] = CHAR_OF[bytes[i] & 0xFF];
    }
    return new String(chars);
  }

  /** Alphabet text back to bytes; null when a char lies outside the alphabet. */
  static byte[] toBytes(String text) {
    byte[] bytes = new byte[text.length()];
    for (int i = 0; i < bytes.length; i++) {
      char c = text.charAt(i);
      int b = c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
      if (b < 0) {
        return null;
      }
      bytes[i] = (byte) b;
    }
    return bytes;
  }

  /** UTF-8 bytes of a special token such as {@code <|endoftext|>}. */
  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
