package dev.sparkgpt.eval;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * How items become token requests, following lm-evaluation-harness so that numbers are comparable with it:
 *
 * <ul>
 *   <li>context = few-shot examples, each joined by {@link #FEWSHOT_DELIMITER}, then the item's query;</li>
 *   <li>continuation = {@link #TARGET_DELIMITER} + choice (or + the last word);</li>
 *   <li>trailing whitespace of the context moves to the front of the continuation;</li>
 *   <li>continuation tokens = encode(context + continuation) minus its first |encode(context)| tokens.</li>
 * </ul>
 *
 * Why the last rule rather than encode(continuation) on its own: the model is scored on the tokens it would see in
 * running text, and a byte-level BPE may merge across the seam. With GPT-2's pre-tokenizer a word's leading space
 * belongs to the word (" Paris" is one token), which is also why the delimiter goes to the continuation and a
 * trailing space of the query is moved there: "Answer: " + "Paris" would otherwise be scored as " " then "Paris".
 */
public final class Prompts {
  /** Between a query and its answer (the harness's target_delimiter). */
  public static final String TARGET_DELIMITER = " ";
  /** Between few-shot examples and before the item (the harness's fewshot_delimiter). */
  public static final String FEWSHOT_DELIMITER = "\n\n";

  private Prompts() {}

  /**
   * The request scoring {@code continuation} after {@code context}. An empty context becomes the end-of-text token
   * (the harness's prefix token), so the first continuation token is still predicted from something.
   */
  public static Request encodePair(Tokenizer tokenizer, String context, String continuation) {
    int end = context.length();
    while (end > 0 && isSpace(context.charAt(end - 1))) {
      end--;
    }
    String movedContinuation = context.substring(end) + continuation;
    String trimmedContext = context.substring(0, end);
    if (trimmedContext.isEmpty()) {
      return new Request(new int[] {tokenizer.eotId()}, tokenizer.encode(movedContinuation));
    }
    int[] whole = tokenizer.encode(trimmedContext + movedContinuation);
    int[] contextIds = tokenizer.encode(trimmedContext);
    if (whole.length <= contextIds.length) {
      throw new EvalException("\"" + movedContinuation + "\" adds no token after its context (it merged into the "
          + "context's last token). Fix: check the item's choices");
    }
    return new Request(contextIds, Arrays.copyOfRange(whole, contextIds.length, whole.length));
  }

  /** Python's str.isspace for one char (covers the no-break spaces Java's isWhitespace leaves out). */
  private static boolean isSpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c);
  }
}
