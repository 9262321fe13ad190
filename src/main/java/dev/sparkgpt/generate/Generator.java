package dev.sparkgpt.generate;

import dev.sparkgpt.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Autoregressive generation over any next-token scorer: crops the context to the model's window, samples with a
 * {@link Sampler}, stops at {@code <|endoftext|>}, at a stop string, or after max_new_tokens, and streams text as it
 * becomes printable (a token that ends inside a UTF-8 character is held back until the character is complete).
 */
public final class Generator {
  /** Logits of the token after the last one of {@code context} (length ≤ the model's context window). */
  public interface NextTokenLogits {
    float[] next(int[] context);

    int contextLength();

    int vocabSize();

    /** A fresh incremental session with a key/value cache, or null when the model has none. */
    default Incremental incremental() {
      return null;
    }
  }

  /** Incremental scoring of one sequence: tokens go in once, the logits of the last come out. */
  public interface Incremental {
    /** Appends ids after the cached ones; returns the logits of the last. */
    float[] append(int[] ids);

    /** Forgets the cached tokens. */
    void reset();

    /** Tokens cached. */
    int length();
  }

  /** What came out: the new ids, their text (stop string cut off), and why it stopped. */
  public record Result(int[] ids, String text, String stopReason) {}

  private final NextTokenLogits model;
  private final Tokenizer tokenizer;
  private final boolean useCache;

  /** A generator that uses the model's key/value cache when it has one. */
  public Generator(NextTokenLogits model, Tokenizer tokenizer) {
    this(model, tokenizer, true);
  }

  /** {@code useCache} false: every step scores the whole window again (for comparison and benchmarks). */
  public Generator(NextTokenLogits model, Tokenizer tokenizer, boolean useCache) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.useCache = useCache;
  }

  /**
   * Continues {@code prompt}. {@code stream} (may be null) receives text pieces as they become printable; with a
   * stop string, text that could still turn into it is held back until it cannot.
   */
  public Result generate(int[] prompt, int maxNewTokens, Sampler sampler, List<String> stops,
      Consumer<String> stream) {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("the prompt is empty: give at least one token");
    }
    int window = model.contextLength();
    int[] context = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
    int length = prompt.length;
    List<Integer> out = new ArrayList<>();
    int emitted = 0;
    String reason = "max_new_tokens";
    String text = "";
    Incremental cache = useCache ? model.incremental() : null;
    for (int i = 0; i < maxNewTokens; i++) {
      int from = Math.max(0, length - window);
      float[] logits = cache == null ? model.next(Arrays.copyOfRange(context, from, length))
          : nextCached(cache, context, from, length);
      int id = sampler.next(logits, Math.min(model.vocabSize(), tokenizer.vocabSize()));
      if (id == tokenizer.eotId()) {
        reason = "end_of_text";
        break;
      }
      context[length++] = id;
      out.add(id);
      text = tokenizer.decode(out.stream().mapToInt(Integer::intValue).toArray());
      int stopAt = firstStop(text, stops);
      if (stopAt >= 0) {
        text = text.substring(0, stopAt);
        reason = "stop_string";
        break;
      }
      int printable = printableLength(text, stops);
      if (stream != null && printable > emitted) {
        stream.accept(text.substring(emitted, printable));
        emitted = printable;
      }
    }
    if (stream != null && text.length() > emitted) {
      stream.accept(text.substring(emitted));
    }
    return new Result(out.stream().mapToInt(Integer::intValue).toArray(), text, reason);
  }

  /**
   * The logits after context[from, length) through the cache: only tokens not yet cached go in. When the window has
   * slid (from moved), positions changed, so the window is scored afresh: identical to the stateless path.
   */
  private static float[] nextCached(Incremental cache, int[] context, int from, int length) {
    if (from > 0 || cache.length() > length) {
      cache.reset();
      return cache.append(Arrays.copyOfRange(context, from, length));
    }
    return cache.append(Arrays.copyOfRange(context, cache.length(), length));
  }

  private static int firstStop(String text, List<String> stops) {
    int best = -1;
    for (String s : stops) {
      int at = text.indexOf(s);
      if (at >= 0 && (best < 0 || at < best)) {
        best = at;
      }
    }
    return best;
  }

  /** Text that can be shown now: not ending in a replacement char (incomplete UTF-8) nor in a stop-string prefix. */
  private static int printableLength(String text, List<String> stops) {
    int end = text.length();
    while (end > 0 && text.charAt(end - 1) == '\uFFFD') {
      end--;
    }
    for (String s : stops) {
      for (int k = Math.min(s.length() - 1, end); k > 0; k--) {
        if (text.startsWith(s.substring(0, k), end - k)) {
          end = Math.min(end, end - k);
          break;
        }
      }
    }
    return end;
  }
}
