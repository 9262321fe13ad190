package dev.sparkgpt.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** GPT-2's pre-tokenizer: the regex that cuts text into words before BPE, and the whitespace set it implies. */
final class PreTokenizer {
  /**
   * GPT-2's pattern as tiktoken's r50k_base writes it. UNICODE_CHARACTER_CLASS makes {@code \s} the Unicode
   * White_Space set (as in tiktoken's Rust regex and JTokkit's r50k_base), not Java's ASCII-only default.
   */
  static final Pattern PATTERN = Pattern.compile(
      "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
      Pattern.UNICODE_CHARACTER_CLASS);

  private PreTokenizer() {}

  /** The words of {@code text} in order; they concatenate back to {@code text}. */
  static List<String> split(String text) {
    List<String> words = new ArrayList<>();
    Matcher m = PATTERN.matcher(text);
    while (m.find()) {
      words.add(m.group());
    }
    return words;
  }

  /**
   * True for the chars {@code \s} matches in {@link #PATTERN}: Unicode White_Space, all in the BMP. Not
   * {@link Character#isWhitespace}, which misses U+00A0, U+2007, U+202F and adds U+001C..U+001F.
   * PreTokenizerTest checks this against the regex for every char.
   */
  static boolean isSpace(char c) {
    if (c <= 0x20) {
      return c == ' ' || (c >= 0x09 && c <= 0x0D);
    }
    if (c < 0x85) {
      return false;
    }
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029
        || c == 0x202F || c == 0x205F || c == 0x3000;
  }
}
