package dev.sparkgpt.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts a long text into pieces of about N chars for parallel encoding, only where the ids of the pieces,
 * concatenated, equal the ids of the whole text (for {@link Tokenizer#encode} and {@link Tokenizer#encodeWithSpecial}
 * alike, with any vocabulary that uses GPT-2's pre-tokenizer).
 *
 * <h2>Why a cut at c is safe</h2>
 * BPE runs inside each pre-token (a match of {@link PreTokenizer#PATTERN}), so equal pre-token sequences give equal
 * ids: it suffices that pretokens(text) = pretokens(text[..c)) ++ pretokens(text[c..)). The regex
 * {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+} is scanned left to right; it
 * has no look-behind, so the match found at a position depends only on the text from there on. Hence the tail piece
 * tokenizes like the whole from c on (its own end is the next cut's concern) provided that (1) c is a pre-token
 * boundary of the whole text and (2) every match attempt the regex makes at a position before c ends the same
 * whether text[c] follows or the input ends at c. Two shapes of every pre-token matter: the first four alternatives
 * give tokens made of non-space chars after at most one leading U+0020; the last two give whitespace only.
 * <ul>
 *   <li><b>Rule A</b>: text[c-1] is not whitespace and text[c] is. The pre-token holding text[c-1] contains a
 *   non-space char, so it is of the first shape and cannot contain text[c] (a space could only be its first char):
 *   (1) holds. For (2), no attempt before c can see text[c] except by a literal, a character class or a {@code \s+}
 *   run: whitespace matches none of the literals ({@code 's}… start with an apostrophe and go on with letters) nor
 *   {@code \p{L}}, {@code \p{N}}, {@code [^\s\p{L}\p{N}]}, so "a whitespace char" and "end of input" fail alike;
 *   and no {@code \s+} run started before c reaches c, because text[c-1] is not whitespace. The
 *   {@code (?!\S)} look-ahead, the only thing that tells a whitespace char from the end, is thus never evaluated at
 *   c by an attempt that started before c. Example: {@code "word| next"}, {@code "word|\n\nnext"}.</li>
 *   <li><b>Rule B</b>: text[c-1] is a single whitespace char other than U+0020 between non-whitespace chars
 *   text[c-2] and text[c], as in {@code "line\n|next"}. The run {@code "\n"} is its own pre-token in the whole text
 *   ({@code \s+(?!\S)} fails before the non-space text[c], {@code \s+} takes the one char; no other alternative
 *   accepts it: only U+0020 may lead a word), and in the head piece {@code \s+(?!\S)} takes the same one char at the
 *   end of input. Before c-1, rule A applies to the cut at c-1. U+0020 is excluded: {@code " ?\p{L}+"} glues it to
 *   the next word.</li>
 * </ul>
 * Everything else is refused, e.g. {@code "x |y"} (" y" is one pre-token), {@code "x\r\n|y"} (the whole text makes
 * "\r","\n" while the head alone makes "\r\n"), or {@code "a  |b"}. The rules are sufficient, not necessary: a few
 * refused cuts would be harmless (between the two spaces of {@code "a  b"}), but real text has plenty of rule A/B
 * positions and a short argument is worth more. A cut is never inside a surrogate pair: both
 * rules need whitespace on one side. "Whitespace" is exactly what the regex's {@code \s} matches (Unicode White_Space,
 * see {@link PreTokenizer#isSpace}), not {@link Character#isWhitespace}. A special token contains no whitespace, so
 * no safe cut falls inside {@code <|endoftext|>}.
 */
public final class TextSplitter {
  private TextSplitter() {}

  /** Whether cutting {@code text} before index {@code at} leaves the ids unchanged (rules A and B above). */
  public static boolean isSafeCut(CharSequence text, int at) {
    if (at <= 0 || at >= text.length()) {
      return false;
    }
    char before = text.charAt(at - 1);
    char after = text.charAt(at);
    if (!PreTokenizer.isSpace(before)) {
      return PreTokenizer.isSpace(after); // rule A
    }
    return before != ' ' && !PreTokenizer.isSpace(after) && at >= 2 && !PreTokenizer.isSpace(text.charAt(at - 2));
  }

  /**
   * Cut offsets (increasing, strictly inside the text) that make pieces of at most {@code targetChars} chars where
   * the text allows. Within each window of {@code targetChars} chars the latest safe cut next to a line break in the
   * window's second half is preferred, then the latest safe cut of any kind. If a window holds no safe cut at all
   * (e.g. a long run of letters or of spaces), it is not cut: that piece runs on to the first safe cut after the
   * window, so it is longer than {@code targetChars}, and a text with no safe cut stays whole.
   */
  public static int[] cuts(String text, int targetChars) {
    if (targetChars < 1) {
      throw new IllegalArgumentException("targetChars must be at least 1, got " + targetChars);
    }
    int length = text.length();
    int[] cuts = new int[16];
    int n = 0;
    int start = 0;
    while (length - start > targetChars) {
      int limit = start + targetChars;
      int cut = latestCut(text, start + Math.max(1, targetChars / 2), limit, true);
      if (cut < 0) {
        cut = latestCut(text, start + 1, limit, false);
      }
      if (cut < 0) {
        cut = limit + 1;
        while (cut < length && !isSafeCut(text, cut)) {
          cut++;
        }
        if (cut >= length) {
          break;
        }
      }
      if (n == cuts.length) {
        cuts = Arrays.copyOf(cuts, n * 2);
      }
      cuts[n++] = cut;
      start = cut;
    }
    return Arrays.copyOf(cuts, n);
  }

  /** The pieces between {@link #cuts}: they concatenate to {@code text}; a text of up to N chars is one piece. */
  public static List<String> split(String text, int targetChars) {
    int[] cuts = cuts(text, targetChars);
    List<String> pieces = new ArrayList<>(cuts.length + 1);
    int start = 0;
    for (int cut : cuts) {
      pieces.add(text.substring(start, cut));
      start = cut;
    }
    pieces.add(text.substring(start));
    return pieces;
  }

  /** The largest safe cut in [from, to], optionally only one touching a line break; -1 if none. */
  private static int latestCut(String text, int from, int to, boolean lineBreakOnly) {
    for (int at = to; at >= from; at--) {
      if (isSafeCut(text, at) && (!lineBreakOnly || isLineBreak(text.charAt(at - 1)) || isLineBreak(text.charAt(at)))) {
        return at;
      }
    }
    return -1;
  }

  private static boolean isLineBreak(char c) {
    return c == '\n' || c == '\r';
  }
}
