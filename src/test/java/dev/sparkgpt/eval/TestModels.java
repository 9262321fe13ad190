package dev.sparkgpt.eval;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Map;

/** Hand-set language models whose log-probabilities a test can work out on paper; all Serializable for Spark. */
final class TestModels {
  private TestModels() {}

  /**
   * Another model seen through its context, vocabulary and full logits only, so scoring takes the interface's default
   * {@link ScoringModel#targetLogProbs} (log-softmax of the full logits) whatever the model overrides.
   */
  static class LogitsOnly implements ScoringModel, Serializable {
    private static final long serialVersionUID = 1L;
    final ScoringModel inner;

    LogitsOnly(ScoringModel inner) {
      this.inner = inner;
    }

    @Override
    public int contextLength() {
      return inner.contextLength();
    }

    @Override
    public int vocabSize() {
      return inner.vocabSize();
    }

    @Override
    public float[][][] logits(int[][] ids) {
      return inner.logits(ids);
    }
  }

  /** A bigram model: the logits after id {@code a} are {@code table[a]} whatever came before. */
  static final class Bigram implements ScoringModel, Serializable {
    private static final long serialVersionUID = 1L;
    private final float[][] table;
    private final int context;

    Bigram(float[][] table, int context) {
      this.table = table;
      this.context = context;
    }

    /** A bigram whose row {@code a} holds ln p(b | a) for the probabilities {@code p[a][b]}. */
    static Bigram ofProbabilities(double[][] p, int context) {
      float[][] table = new float[p.length][];
      for (int a = 0; a < p.length; a++) {
        table[a] = new float[p[a].length];
        for (int b = 0; b < p[a].length; b++) {
          table[a][b] = (float) Math.log(p[a][b]);
        }
      }
      return new Bigram(table, context);
    }

    @Override
    public int contextLength() {
      return context;
    }

    @Override
    public int vocabSize() {
      return table.length;
    }

    @Override
    public float[][][] logits(int[][] ids) {
      float[][][] out = new float[ids.length][][];
      for (int b = 0; b < ids.length; b++) {
        out[b] = new float[ids[b].length][];
        for (int t = 0; t < ids[b].length; t++) {
          out[b][t] = table[ids[b][t]].clone();
        }
      }
      return out;
    }
  }

  /**
   * The same next-token distribution at every position: id → logit for the listed ids, −∞ for the rest, so the
   * listed ids' log-probabilities are their logits minus log Σ exp(logits).
   */
  static final class Unigram implements ScoringModel, Serializable {
    private static final long serialVersionUID = 1L;
    private final float[] row;
    private final int context;

    Unigram(int vocab, int context, Map<Integer, Double> probabilities) {
      this.context = context;
      row = new float[vocab];
      Arrays.fill(row, Float.NEGATIVE_INFINITY);
      probabilities.forEach((id, p) -> row[id] = (float) Math.log(p));
    }

    @Override
    public int contextLength() {
      return context;
    }

    @Override
    public int vocabSize() {
      return row.length;
    }

    @Override
    public float[][][] logits(int[][] ids) {
      float[][][] out = new float[ids.length][][];
      for (int b = 0; b < ids.length; b++) {
        out[b] = new float[ids[b].length][];
        for (int t = 0; t < ids[b].length; t++) {
          out[b][t] = row.clone();
        }
      }
      return out;
    }
  }

  /** Every id equally likely everywhere: each token costs ln(vocab) nats, perplexity = vocab. */
  static final class Uniform implements ScoringModel, Serializable {
    private static final long serialVersionUID = 1L;
    private final int vocab;
    private final int context;

    Uniform(int vocab, int context) {
      this.vocab = vocab;
      this.context = context;
    }

    @Override
    public int contextLength() {
      return context;
    }

    @Override
    public int vocabSize() {
      return vocab;
    }

    @Override
    public float[][][] logits(int[][] ids) {
      return new float[ids.length][ids.length == 0 ? 0 : ids[0].length][vocab];
    }
  }

  /**
   * Pseudo-random logits that depend on the previous two ids and the position (so truncation, padding and batch
   * order all matter), computed from a hash: the same input always gives the same bits.
   */
  static final class Hashed implements ScoringModel, Serializable {
    private static final long serialVersionUID = 1L;
    private final int vocab;
    private final int context;

    Hashed(int vocab, int context) {
      this.vocab = vocab;
      this.context = context;
    }

    @Override
    public int contextLength() {
      return context;
    }

    @Override
    public int vocabSize() {
      return vocab;
    }

    @Override
    public float[][][] logits(int[][] ids) {
      float[][][] out = new float[ids.length][][];
      for (int b = 0; b < ids.length; b++) {
        out[b] = new float[ids[b].length][vocab];
        for (int t = 0; t < ids[b].length; t++) {
          long key = ids[b][t] * 1_000_003L + (t == 0 ? 7 : ids[b][t - 1]) * 31L + t;
          float[] row = out[b][t];
          for (int v = 0; v < vocab; v++) {
            long z = (key + v) * 0x9E3779B97F4A7C15L;
            z ^= z >>> 29;
            row[v] = (z & 0xFFFF) / 4096f; // 0..16
          }
        }
      }
      return out;
    }
  }
}
