package dev.sparkgpt.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Training examples for a model of context T: windows of T + 1 tokens ({@code input = w[0:T]},
 * {@code target = w[1:T+1]}) cut from packed shard rows or from one token stream (the book's sliding-window
 * loader), with targets past the real tokens masked, and a reproducible order per epoch.
 */
public final class TrainingWindows implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  /** The target id that the loss ignores (PyTorch's convention, kept for the finetune data too). */
  public static final int IGNORE_INDEX = -100;

  private final List<int[]> windows;
  private final List<Integer> lengths;
  private final int context;

  private TrainingWindows(List<int[]> windows, List<Integer> lengths, int context) {
    this.windows = windows;
    this.lengths = lengths;
    this.context = context;
  }

  /**
   * Windows from shard rows of seq_len + 1 tokens: each row gives ⌊seq_len / T⌋ windows at offsets 0, T, 2T…
   * (consecutive windows share one token, as rows do), skipping windows with no real target.
   */
  public static TrainingWindows fromRows(List<ShardReader.ShardRow> rows, int context) {
    List<int[]> windows = new ArrayList<>();
    List<Integer> lengths = new ArrayList<>();
    for (ShardReader.ShardRow row : rows) {
      int seqLen = row.tokens().length - 1;
      if (context > seqLen) {
        throw new IllegalArgumentException("context " + context + " is longer than the rows' seq_len " + seqLen);
      }
      for (int start = 0; start + context <= seqLen; start += context) {
        int real = Math.min(context + 1, row.length() - start);
        if (real < 2) {
          break;
        }
        int[] w = new int[context + 1];
        System.arraycopy(row.tokens(), start, w, 0, context + 1);
        windows.add(w);
        lengths.add(real);
      }
    }
    return new TrainingWindows(windows, lengths, context);
  }

  /**
   * The book's sliding-window loader over one token stream: windows of T + 1 tokens every {@code stride} tokens
   * (stride = T gives non-overlapping inputs); the stream's tail shorter than a window is dropped, as the book does.
   */
  public static TrainingWindows fromStream(int[] stream, int context, int stride) {
    if (stride < 1) {
      throw new IllegalArgumentException("stride must be ≥ 1, got " + stride);
    }
    List<int[]> windows = new ArrayList<>();
    List<Integer> lengths = new ArrayList<>();
    for (int start = 0; start + context + 1 <= stream.length; start += stride) {
      int[] w = new int[context + 1];
      System.arraycopy(stream, start, w, 0, context + 1);
      windows.add(w);
      lengths.add(context + 1);
    }
    return new TrainingWindows(windows, lengths, context);
  }

  /** The windows of {@code source} at {@code indices}, in that order (repeats allowed). */
  public static TrainingWindows fromWindows(TrainingWindows source, int[] indices) {
    List<int[]> w = new ArrayList<>();
    List<Integer> l = new ArrayList<>();
    for (int i : indices) {
      w.add(source.windows.get(i));
      l.add(source.lengths.get(i));
    }
    return new TrainingWindows(w, l, source.context);
  }

  /** Worker {@code worker}'s share of {@code workers}: windows whose index ≡ worker (mod workers). */
  public TrainingWindows slice(int worker, int workers) {
    List<int[]> w = new ArrayList<>();
    List<Integer> l = new ArrayList<>();
    for (int i = worker; i < windows.size(); i += workers) {
      w.add(windows.get(i));
      l.add(lengths.get(i));
    }
    return new TrainingWindows(w, l, context);
  }

  /**
   * The baseline a language model must beat: mean cross-entropy (nats) of {@code val}'s targets under the unigram
   * distribution of {@code train}'s targets, add-one smoothed over {@code vocab} ids.
   */
  public static double unigramLoss(TrainingWindows train, TrainingWindows val, int vocab) {
    long[] counts = new long[vocab];
    long total = train.countTargets(counts);
    return unigramLoss(counts, total, val);
  }

  /** Adds the real targets of these windows to {@code counts}; returns how many. */
  public long countTargets(long[] counts) {
    long total = 0;
    for (int i = 0; i < windows.size(); i++) {
      int[] w = windows.get(i);
      for (int t = 1; t < lengths.get(i); t++) {
        counts[w[t]]++;
        total++;
      }
    }
    return total;
  }

  /** Mean cross-entropy of {@code val}'s targets under add-one smoothed {@code counts} (of {@code total} targets). */
  public static double unigramLoss(long[] counts, long total, TrainingWindows val) {
    int vocab = counts.length;
    double sum = 0;
    long n = 0;
    for (int i = 0; i < val.windows.size(); i++) {
      int[] w = val.windows.get(i);
      for (int t = 1; t < val.lengths.get(i); t++) {
        sum -= Math.log((counts[w[t]] + 1.0) / (total + vocab));
        n++;
      }
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  public int size() {
    return windows.size();
  }

  public int context() {
    return context;
  }

  /** Real target tokens in all windows (what tokens_seen counts per epoch). */
  public long targetTokens() {
    long n = 0;
    for (int len : lengths) {
      n += len - 1;
    }
    return n;
  }

  /** The order of windows in {@code epoch}: a permutation seeded by (seed, epoch), or identity when not shuffled. */
  public int[] order(long seed, long epoch, boolean shuffle) {
    int[] order = new int[windows.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    if (shuffle) {
      Random random = new Random(seed * 1_000_003L + epoch);
      for (int i = order.length - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
    return order;
  }

  /** Inputs [B][T] of the windows {@code indices}. */
  public int[][] inputs(int[] indices) {
    int[][] x = new int[indices.length][context];
    for (int b = 0; b < indices.length; b++) {
      System.arraycopy(windows.get(indices[b]), 0, x[b], 0, context);
    }
    return x;
  }

  /** Targets [B][T] of the windows {@code indices}, {@link #IGNORE_INDEX} where the window has no real target. */
  public int[][] targets(int[] indices) {
    int[][] y = new int[indices.length][context];
    for (int b = 0; b < indices.length; b++) {
      int[] w = windows.get(indices[b]);
      int real = lengths.get(indices[b]);
      for (int t = 0; t < context; t++) {
        y[b][t] = t + 1 < real ? w[t + 1] : IGNORE_INDEX;
      }
    }
    return y;
  }
}
