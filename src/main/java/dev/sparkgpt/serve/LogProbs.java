package dev.sparkgpt.serve;

import dev.sparkgpt.eval.LogLikelihood;
import dev.sparkgpt.eval.ScoringModel;
import dev.sparkgpt.model.TargetScores;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Token log-probabilities of a sequence as OpenAI's {@code logprobs} reports them, computed the way evaluation
 * scores ({@link ScoringModel#targetLogProbs}, one forward pass, log-softmax in double), so the prompt logprobs
 * lm-eval's {@code local-completions} reads from serve are those {@code sparkgpt eval} sums. The alternatives come
 * from the same pass's logits; where the chosen token is the most likely one its alternative carries the very
 * same value, so "is it greedy" reads the same from either.
 */
final class LogProbs {
  private LogProbs() {}

  /**
   * ln p(ids[t] | ids[0..t)) for t ≥ 1 (index 0 is NaN: nothing precedes it) and, when {@code top} > 0, the
   * {@code top} most likely ids and their ln p at each position.
   */
  record Scored(double[] logProbs, int[][] topIds, double[][] topLogProbs) {}

  static Scored score(ScoringModel model, int[] ids, int top) {
    int n = ids.length;
    double[] lp = new double[n];
    lp[0] = Double.NaN;
    int[][] topIds = new int[n][];
    double[][] topLp = new double[n][];
    if (n == 1) {
      return new Scored(lp, topIds, topLp);
    }
    int[][] input = {Arrays.copyOf(ids, n - 1)};
    int[][] targets = {Arrays.copyOfRange(ids, 1, n)};
    TargetScores scores = model.targetLogProbs(input, targets);
    for (int t = 1; t < n; t++) {
      lp[t] = scores.logProbs()[0][t - 1];
    }
    if (top > 0) {
      float[][] logits = model.logits(input)[0];
      for (int t = 1; t < n; t++) {
        float[] row = logits[t - 1];
        double lse = LogLikelihood.logSumExp(row);
        topIds[t] = topK(row, top);
        topLp[t] = new double[topIds[t].length];
        for (int k = 0; k < topIds[t].length; k++) {
          topLp[t][k] = row[topIds[t][k]] - lse;
        }
        if (scores.greedy()[0][t - 1] && topIds[t][0] == ids[t]) {
          topLp[t][0] = lp[t];
        }
      }
    }
    return new Scored(lp, topIds, topLp);
  }

  /** The k largest entries' indexes, largest first (ties: the lower index first, as argmax). */
  static int[] topK(float[] row, int k) {
    int[] best = new int[Math.min(k, row.length)];
    int size = 0;
    for (int v = 0; v < row.length; v++) {
      if (size == best.length && row[v] <= row[best[size - 1]]) {
        continue;
      }
      int at = size < best.length ? size++ : size - 1;
      while (at > 0 && row[v] > row[best[at - 1]]) {
        best[at] = best[at - 1];
        at--;
      }
      best[at] = v;
    }
    return best;
  }

  /**
   * The completions format ({@code tokens}, {@code token_logprobs}, {@code top_logprobs}, {@code text_offset}) for
   * positions {@code from..} of {@code ids}; offsets count characters from {@code offset}.
   */
  static Map<String, Object> completions(Scored s, int[] ids, int from, int top, Tokenizer tok, int offset) {
    List<String> tokens = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    List<Map<String, Double>> tops = new ArrayList<>();
    List<Integer> offsets = new ArrayList<>();
    int at = offset;
    for (int t = from; t < ids.length; t++) {
      String token = tok.decode(new int[] {ids[t]});
      tokens.add(token);
      values.add(t == 0 ? null : s.logProbs()[t]);
      offsets.add(at);
      at += token.length();
      if (t == 0) {
        tops.add(null);
      } else {
        Map<String, Double> alternatives = new LinkedHashMap<>();
        if (top > 0) {
          for (int k = 0; k < s.topIds()[t].length; k++) {
            alternatives.putIfAbsent(tok.decode(new int[] {s.topIds()[t][k]}), s.topLogProbs()[t][k]);
          }
        }
        alternatives.putIfAbsent(token, s.logProbs()[t]);
        tops.add(alternatives);
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("tokens", tokens);
    out.put("token_logprobs", values);
    out.put("top_logprobs", tops);
    out.put("text_offset", offsets);
    return out;
  }

  /** The chat format: {@code {"content": [{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]}}. */
  static Map<String, Object> chat(Scored s, int[] ids, int from, int top, Tokenizer tok) {
    List<Map<String, Object>> content = new ArrayList<>();
    for (int t = Math.max(1, from); t < ids.length; t++) {
      List<Map<String, Object>> alternatives = new ArrayList<>();
      for (int k = 0; top > 0 && k < s.topIds()[t].length; k++) {
        alternatives.add(Map.of("token", tok.decode(new int[] {s.topIds()[t][k]}), "logprob",
            s.topLogProbs()[t][k]));
      }
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("token", tok.decode(new int[] {ids[t]}));
      entry.put("logprob", s.logProbs()[t]);
      entry.put("top_logprobs", alternatives);
      content.add(entry);
    }
    return Map.of("content", content);
  }
}
