package dev.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** GPT-2's pre-tokenizer: exact splits, concatenation back to the text, and the whitespace set TextSplitter uses. */
class PreTokenizerTest {
  @Test
  void splitsLikeGpt2() {
    assertEquals(List.of("Hello", " world", "'s", " ", " end", "\n\n"),
        BpeTrainer.pretokenize("Hello world's  end\n\n"));
    assertEquals(List.of(" ", " x"), BpeTrainer.pretokenize("  x"));
    assertEquals(List.of("a", "\r", "\n", "b"), BpeTrainer.pretokenize("a\r\nb"));
    assertEquals(List.of("123456", " 3", ".", "14"), BpeTrainer.pretokenize("123456 3.14"));
    assertEquals(List.of("I", "'", "M", " don", "'t"), BpeTrainer.pretokenize("I'M don't")); // case-sensitive
    assertEquals(List.of("x", "\u00a0", "y", "\t\t"), BpeTrainer.pretokenize("x\u00a0y\t\t"));
    // an emoji is a symbol (So), in one class with punctuation
    assertEquals(List.of("😀!!", " 日本語", " 한국어"), BpeTrainer.pretokenize("😀!! 日本語 한국어"));
    assertEquals(List.of(), BpeTrainer.pretokenize(""));
  }

  @Test
  void preTokensConcatenateToTheTextAndMatchGpt2sSpellingOfTheRegex() {
    for (String text : new String[] {ReferenceBpe.text("/data/corpora/the-verdict.txt"),
        ReferenceBpe.text("/data/corpora/tinyshakespeare.txt"), " \t\r\n\u3000 x  \n\n y'''s 👩🏽‍💻 \uD800 z \u0085"}) {
      List<String> words = BpeTrainer.pretokenize(text);
      assertEquals(text, String.join("", words));
      List<String> expected = new ArrayList<>();
      Matcher m = ReferenceBpe.WORDS.matcher(text);
      while (m.find()) {
        expected.add(m.group());
      }
      assertEquals(expected, words);
    }
  }

  @Test
  void isSpaceIsExactlyWhatTheRegexCallsWhitespace() {
    Pattern space = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
    int spaces = 0;
    for (int c = 0; c <= 0xFFFF; c++) {
      char ch = (char) c;
      boolean regex = space.matcher(String.valueOf(ch)).matches();
      assertEquals(regex, PreTokenizer.isSpace(ch), () -> String.format("U+%04X", (int) ch));
      spaces += regex ? 1 : 0;
    }
    // Unicode White_Space: 6 ASCII, U+0085, U+00A0, U+1680, U+2000..200A, U+2028/9, U+202F, U+205F, U+3000
    assertEquals(25, spaces);
    // Where Java's Character.isWhitespace would be wrong for the regex:
    assertTrue(PreTokenizer.isSpace('\u00a0'));
    assertFalse(Character.isWhitespace('\u00a0'));
    assertFalse(PreTokenizer.isSpace('\u001c'));
    assertTrue(Character.isWhitespace('\u001c'));
  }
}
