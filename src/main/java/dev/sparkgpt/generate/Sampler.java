package dev.sparkgpt.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy at temperature 0, else softmax(logits / temperature) restricted
 * to the top-k ids and then to the smallest set whose probability reaches top-p (nucleus), drawn with a seeded RNG.
 * Ties in greedy and top-k are broken by the smaller id, so results never depend on sort stability.
 */
public final class Sampler {
  private final double temperature;
  private final int topK;
  private final double topP;
  private final SplittableRandom random;

  /**
   * @param temperature 0 = greedy; otherwise divides the logits
   * @param topK keep the k most likely ids (0 = all)
   * @param topP keep the most likely ids until their probability reaches p (1 = all)
   * @param seed RNG seed (same seed, same logits → same tokens)
   */
  public Sampler(double temperature, int topK, double topP, long seed) {
    if (temperature < 0 || Double.isNaN(temperature)) {
      throw new IllegalArgumentException("temperature must be ≥ 0, got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must be ≥ 0 (0 = off), got " + topK);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }
    this.temperature = temperature;
    this.topK = topK;
    this.topP = topP;
    this.random = new SplittableRandom(seed);
  }

  /** Greedy decoding. */
  public static Sampler greedy() {
    return new Sampler(0, 0, 1, 0);
  }

  /** The next token id for {@code logits} (length = vocabulary; only the first {@code n} ids are eligible). */
  public int next(float[] logits, int n) {
    if (temperature == 0) {
      return argmax(logits, n);
    }
    int[] ids = byLogitDescending(logits, n);
    int keep = topK > 0 ? Math.min(topK, n) : n;
    double max = logits[ids[0]] / temperature;
    double[] p = new double[keep];
    double sum = 0;
    for (int i = 0; i < keep; i++) {
      p[i] = Math.exp(logits[ids[i]] / temperature - max);
      sum += p[i];
    }
    if (topP < 1) {
      double cumulative = 0;
      int cut = keep;
      for (int i = 0; i < keep; i++) {
        cumulative += p[i] / sum;
        if (cumulative >= topP) {
          cut = i + 1;
          break;
        }
      }
      keep = cut;
      sum = 0;
      for (int i = 0; i < keep; i++) {
        sum += p[i];
      }
    }
    double u = random.nextDouble() * sum;
    for (int i = 0; i < keep; i++) {
      u -= p[i];
      if (u < 0) {
        return ids[i];
      }
    }
    return ids[keep - 1];
  }

  /**
   * Ids 0..n-1, most likely first, equal logits by smaller id. Sorted as primitive longs (order-preserving float bits
   * above the id): boxing 50,257 Integers for a comparator sort cost ~30 ms per token.
   */
  static int[] byLogitDescending(float[] logits, int n) {
    long[] keys = new long[n];
    for (int i = 0; i < n; i++) {
      int bits = Float.floatToIntBits(logits[i] + 0.0f); // -0.0 → 0.0, as == treats them
      int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // increases with the float
      long descending = (long) Integer.MAX_VALUE - ordered; // in [0, 2^32)
      keys[i] = (descending << 31) | i;
    }
    Arrays.sort(keys);
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = (int) (keys[i] & 0x7fffffffL);
    }
    return ids;
  }

  /** Index of the largest logit among the first n (the smallest such index on ties). */
  public static int argmax(float[] logits, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    return best;
  }
}
