package dev.sparkgpt.eval;

import dev.sparkgpt.model.TargetScores;
import dev.sparkgpt.model.TokenBatch;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The one scoring primitive every metric is built on (lm-evaluation-harness's {@code loglikelihood} request): the
 * log-probability a model gives a continuation after a context, and whether greedy decoding would produce it.
 */
public final class LogLikelihood {
  private LogLikelihood() {}

  /**
   * Score {@code continuation} after {@code context} (both token ids, each at least one token). When the two do not
   * fit the model's context + 1 tokens, the context is cut from the left, as the harness does.
   */
  public record Request(int[] context, int[] continuation) implements Serializable {
    public Request {
      Objects.requireNonNull(context, "context");
      Objects.requireNonNull(continuation, "continuation");
      if (context.length == 0 || continuation.length == 0) {
        throw new IllegalArgumentException("a request needs at least one context and one continuation token, got "
            + context.length + " and " + continuation.length);
      }
    }

    /** Context plus continuation tokens, before any truncation. */
    public int length() {
      return context.length + continuation.length;
    }
  }

  /** Sum of log p(continuation token | everything before it), natural log; {@code greedy}: each was the argmax. */
  public record Score(double logProb, boolean greedy) implements Serializable {}

  /**
   * Scores {@code batch} with one forward pass: sequences right-padded to the longest, log-softmax in double at the
   * continuation positions only ({@link ScoringModel#targetLogProbs}). Results are in the batch's order and do not
   * depend on what else is in the batch (for a model whose rows are computed independently).
   */
  public static Score[] score(ScoringModel model, List<Request> batch) {
    int context = model.contextLength();
    int vocab = model.vocabSize();
    int[][] inputs = new int[batch.size()][];
    int longest = 0;
    for (int b = 0; b < batch.size(); b++) {
      inputs[b] = input(batch.get(b), context, vocab);
      longest = Math.max(longest, inputs[b].length);
    }
    int[][] padded = new int[inputs.length][longest]; // right padding with id 0: a causal model never looks ahead
    int[][] targets = new int[inputs.length][longest]; // continuation[j] is scored at position first + j
    int[] first = new int[inputs.length];
    for (int b = 0; b < inputs.length; b++) {
      System.arraycopy(inputs[b], 0, padded[b], 0, inputs[b].length);
      int[] continuation = batch.get(b).continuation();
      Arrays.fill(targets[b], TokenBatch.IGNORE_INDEX);
      first[b] = inputs[b].length - continuation.length; // logits[first] predict continuation[0]
      System.arraycopy(continuation, 0, targets[b], first[b], continuation.length);
    }
    TargetScores scored = model.targetLogProbs(padded, targets);
    if (scored == null || scored.logProbs().length != inputs.length || scored.greedy().length != inputs.length) {
      throw new EvalException(model.getClass().getName() + ".targetLogProbs returned " + (scored == null ? "null"
          : scored.logProbs().length + " rows") + " for a batch of " + inputs.length + ". Fix: return [B][T] scores");
    }
    Score[] scores = new Score[inputs.length];
    for (int b = 0; b < inputs.length; b++) {
      double sum = 0;
      boolean greedy = true;
      for (int j = 0; j < batch.get(b).continuation().length; j++) {
        sum += scored.logProbs()[b][first[b] + j];
        greedy &= scored.greedy()[b][first[b] + j];
      }
      if (Double.isNaN(sum)) {
        throw new EvalException(model.getClass().getName() + " produced NaN logits (batch row " + b
            + "). Fix: check the checkpoint's weights");
      }
      scores[b] = new Score(sum, greedy);
    }
    return scores;
  }

  /**
   * {@link ScoringModel#targetLogProbs} from the model's full logits: ln p in double (log-sum-exp over the float
   * row) and the argmax test at the scored positions; a malformed logits array is refused by shape.
   */
  static TargetScores fromLogits(ScoringModel model, int[][] ids, int[][] targets) {
    int vocab = model.vocabSize();
    int time = ids[0].length;
    float[][][] logits = model.logits(ids); // [B, T, V]
    if (logits == null || logits.length != ids.length) {
      throw new EvalException(model.getClass().getName() + ".logits returned " + (logits == null ? "null"
          : logits.length + " rows") + " for a batch of " + ids.length + ". Fix: return [B][T][V] logits");
    }
    double[][] logProbs = new double[ids.length][time];
    boolean[][] greedy = new boolean[ids.length][time];
    for (int b = 0; b < ids.length; b++) {
      if (logits[b] == null || logits[b].length != time) {
        throw new EvalException(model.getClass().getName() + ".logits returned " + (logits[b] == null ? "null"
            : logits[b].length + " positions") + " in row " + b + " for inputs of " + time
            + " tokens. Fix: return [B][T][V] logits");
      }
      Arrays.fill(logProbs[b], Double.NaN);
      for (int t = 0; t < time; t++) {
        int token = targets[b][t];
        if (token == TokenBatch.IGNORE_INDEX) {
          continue;
        }
        float[] row = logits[b][t];
        if (row == null || row.length != vocab) {
          throw new EvalException(model.getClass().getName() + ".logits returned " + (row == null ? "null"
              : row.length + " logits") + " at row " + b + ", position " + t + ", expected vocab_size=" + vocab);
        }
        logProbs[b][t] = row[token] - logSumExp(row);
        greedy[b][t] = argmax(row) == token;
      }
    }
    return new TargetScores(logProbs, greedy);
  }

  /** The tokens fed to the model: (context + continuation) cut to the last context + 1, minus the final token. */
  private static int[] input(Request request, int context, int vocab) {
    int[] ctx = request.context();
    int[] cont = request.continuation();
    if (cont.length > context) {
      throw new EvalException("a continuation of " + cont.length + " tokens does not fit the model's context of "
          + context + " tokens. Fix: shorten the choice or use a model with a longer context");
    }
    int keep = Math.min(request.length(), context + 1);
    int[] input = new int[keep - 1];
    int skip = request.length() - keep; // tokens cut from the left of the context
    for (int i = 0; i < input.length; i++) {
      int at = skip + i;
      input[i] = at < ctx.length ? ctx[at] : cont[at - ctx.length];
    }
    checkIds(ctx, vocab);
    checkIds(cont, vocab);
    return input;
  }

  private static void checkIds(int[] ids, int vocab) {
    for (int id : ids) {
      if (id < 0 || id >= vocab) {
        throw new EvalException("token id " + id + " is outside the model's vocabulary of " + vocab
            + " ids. Fix: evaluate with the tokenizer the model was trained with");
      }
    }
  }

  /** log Σ exp(row[v]), in double, shifted by the maximum so that nothing overflows. */
  public static double logSumExp(float[] row) {
    double max = Double.NEGATIVE_INFINITY;
    for (float x : row) {
      max = Math.max(max, x);
    }
    if (max == Double.NEGATIVE_INFINITY || Double.isNaN(max)) {
      return max;
    }
    double sum = 0;
    for (float x : row) {
      sum += Math.exp(x - max);
    }
    return max + Math.log(sum);
  }

  /** The first index of the largest logit (numpy's and torch's tie rule). */
  static int argmax(float[] row) {
    int best = 0;
    for (int v = 1; v < row.length; v++) {
      if (row[v] > row[best]) {
        best = v;
      }
    }
    return best;
  }
}
