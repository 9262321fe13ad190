package dev.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Split-then-encode equals encode-whole, on corpora and adversarial text; exact cut positions; refused cuts. */
class TextSplitterTest {
  private static final Tokenizer GPT2 = Tokenizers.gpt2();
  /** Units of adversarial text: whitespace runs, CRLF, tabs, contractions, digits, emoji, CJK, Korean, specials. */
  private static final String[] UNITS = {"a", "Zq", "é", "s", "'", "'s", "'ll", " ", "  ", "\n", "\n\n", "\r\n", "\r",
      "\t", "\u00a0", "\u3000", "\u2028", "\u0085", "\u001c", "7", "123", "0000000", ".", "!?", "😀", "👩🏽‍💻", "日本",
      "한국어", "<|endoftext|>", "\u200d", "e\u0301"};

  private static int[] encodePieces(List<String> pieces, boolean special) {
    List<int[]> parts = new ArrayList<>();
    for (String piece : pieces) {
      parts.add(special ? GPT2.encodeWithSpecial(piece) : GPT2.encode(piece));
    }
    return parts.stream().flatMapToInt(IntStream::of).toArray();
  }

  private static String randomText(Random random, int units) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < units; i++) {
      text.append(UNITS[random.nextInt(UNITS.length)]);
    }
    return text.toString();
  }

  private static List<String> preTokens(String text) {
    List<String> words = new ArrayList<>();
    Matcher m = ReferenceBpe.WORDS.matcher(text);
    while (m.find()) {
      words.add(m.group());
    }
    return words;
  }

  /** Pieces concatenate to the text; a piece longer than the target had no safe cut in its window. */
  private static void assertWellFormed(String text, List<String> pieces, int target) {
    assertEquals(text, String.join("", pieces));
    int start = 0;
    for (String piece : pieces) {
      if (piece.length() > target) {
        for (int at = start + 1; at <= start + target; at++) {
          assertFalse(TextSplitter.isSafeCut(text, at), "a safe cut at " + at + " was skipped");
        }
      }
      start += piece.length();
    }
  }

  @Test
  void splitEncodingEqualsWholeEncodingOnTheBundledCorpora() {
    for (String corpus : new String[] {"/data/corpora/the-verdict.txt", "/data/corpora/tinyshakespeare.txt"}) {
      String text = ReferenceBpe.text(corpus);
      int[] whole = GPT2.encode(text);
      for (int target : new int[] {50, 333, 4096, 65536}) {
        List<String> pieces = TextSplitter.split(text, target);
        assertWellFormed(text, pieces, target);
        assertTrue(pieces.size() >= text.length() / target, corpus + " @" + target + ": " + pieces.size());
        assertArrayEquals(whole, encodePieces(pieces, false), corpus + " @" + target);
      }
    }
  }

  @Test
  void splitEncodingEqualsWholeEncodingOnAdversarialText() {
    Random random = new Random(42);
    for (int round = 0; round < 300; round++) {
      String text = randomText(random, 5 + random.nextInt(200));
      int[] whole = GPT2.encode(text);
      int[] wholeSpecial = GPT2.encodeWithSpecial(text);
      for (int target : new int[] {1, 2, 3, 7, 50}) {
        List<String> pieces = TextSplitter.split(text, target);
        assertWellFormed(text, pieces, target);
        assertArrayEquals(whole, encodePieces(pieces, false), () -> "text " + text.replace("\n", "\\n"));
        assertArrayEquals(wholeSpecial, encodePieces(pieces, true), () -> "text " + text.replace("\n", "\\n"));
        pieces.forEach(p -> assertFalse(Character.isLowSurrogate(p.charAt(0)), "piece starts inside a pair"));
      }
    }
  }

  @Test
  void everySafeCutKeepsThePreTokensOfTheWhole() {
    // Checks the argument in TextSplitter's Javadoc directly, at every position it accepts.
    Random random = new Random(7);
    int accepted = 0;
    for (int round = 0; round < 2000; round++) {
      String text = randomText(random, 2 + random.nextInt(12));
      List<String> whole = preTokens(text);
      for (int at = 1; at < text.length(); at++) {
        if (TextSplitter.isSafeCut(text, at)) {
          List<String> joined = new ArrayList<>(preTokens(text.substring(0, at)));
          joined.addAll(preTokens(text.substring(at)));
          assertEquals(whole, joined, "cut at " + at + " of " + text.replace("\n", "\\n"));
          accepted++;
        }
      }
    }
    assertTrue(accepted > 3000, "only " + accepted + " safe cuts seen");
  }

  @Test
  void acceptsAndRefusesCutsAsTheRulesSay() {
    assertTrue(TextSplitter.isSafeCut("x y", 1));       // rule A: before whitespace
    assertFalse(TextSplitter.isSafeCut("x y", 2));      // " y" is one pre-token
    assertTrue(TextSplitter.isSafeCut("x\ny", 2));      // rule B: after a lone newline
    assertFalse(TextSplitter.isSafeCut("x\r\ny", 3));   // "\r\n" then y: whole makes "\r","\n", head alone "\r\n"
    assertTrue(TextSplitter.isSafeCut("x\r\ny", 1));
    assertFalse(TextSplitter.isSafeCut("x  y", 2));
    assertFalse(TextSplitter.isSafeCut("x  y", 3));
    assertTrue(TextSplitter.isSafeCut("x\u00a0y", 2));  // NBSP is \s to the regex, and cannot lead a word
    assertFalse(TextSplitter.isSafeCut("x\u001cy", 1)); // U+001C is not \s to the regex
    assertFalse(TextSplitter.isSafeCut("😀\n😀", 1));   // inside a surrogate pair
    assertTrue(TextSplitter.isSafeCut("😀\n😀", 2));
    assertTrue(TextSplitter.isSafeCut("😀\n😀", 3));
    assertFalse(TextSplitter.isSafeCut("xy", 0));
    assertFalse(TextSplitter.isSafeCut("xy", 2));
    // What refused cuts break: the pre-tokens (so the ids, for some vocabulary) ...
    assertCutChangesPreTokens("x\r\ny", 3); // [x, \r, \n, y] vs [x, \r\n] + [y]
    assertCutChangesPreTokens("a  b", 3);    // [a, " ", " b"] vs [a, "  "] + [b]
    assertCutChangesPreTokens("x yz", 2);    // [x, " yz"] vs [x, " "] + [yz]
    // ... and with GPT-2 itself: "\n\n" (628) forms across the cut in the whole text only.
    assertArrayEquals(new int[] {64, 628, 198, 65}, GPT2.encode("a\n\n\nb"));
    assertArrayEquals(new int[] {64, 198}, GPT2.encode("a\n"));
    assertArrayEquals(new int[] {198, 198, 65}, GPT2.encode("\n\nb"));
  }

  private static void assertCutChangesPreTokens(String text, int at) {
    assertFalse(TextSplitter.isSafeCut(text, at));
    List<String> joined = new ArrayList<>(preTokens(text.substring(0, at)));
    joined.addAll(preTokens(text.substring(at)));
    assertFalse(preTokens(text).equals(joined), text + " cut at " + at);
  }

  @Test
  void cutsAtExactPositions() {
    // Line cuts win in the window's second half: after the lone "\n" (8) rather than before it (7).
    assertArrayEquals(new int[] {8}, TextSplitter.cuts("one two\nthree four", 10));
    assertEquals(List.of("one two\n", "three four"), TextSplitter.split("one two\nthree four", 10));
    // No line break: the latest cut before a space.
    assertArrayEquals(new int[] {4, 9}, TextSplitter.cuts("aaaa bbbb cccc", 6));
    // "\r\n": only before the "\r"; nothing later in "\r\ny" is safe, so the rest stays one piece.
    assertArrayEquals(new int[] {1}, TextSplitter.cuts("x\r\ny", 2));
    // No safe cut in the window: the piece runs on to the first safe cut after it.
    assertArrayEquals(new int[] {8}, TextSplitter.cuts("abcdefgh ij", 3));
    // No safe cut at all: one piece, however long.
    assertEquals(List.of("abcdefghij"), TextSplitter.split("abcdefghij", 3));
    assertEquals(List.of("          "), TextSplitter.split(" ".repeat(10), 3));
    assertEquals(List.of("short"), TextSplitter.split("short", 5));
    assertEquals(List.of(""), TextSplitter.split("", 5));
  }

  @Test
  void rejectsATargetBelowOneChar() {
    var e = assertThrows(IllegalArgumentException.class, () -> TextSplitter.cuts("abc", 0));
    assertTrue(e.getMessage().contains("targetChars"), e.getMessage());
  }
}
