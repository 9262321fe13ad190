package dev.sparkgpt.eval;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Scores many loglikelihood requests: on the driver's thread ({@link LocalRunner}) or on Spark executors
 * ({@link SparkRunner}). Both cut the requests into the same batches ({@link #plan}), so both return the same
 * numbers, bit for bit.
 */
public interface RequestRunner {
  /** The scores of {@code requests}, in their order. */
  Score[] score(List<Request> requests);

  /** Requests asked for and scored so far, over every call: what a progress bar shows. */
  Tally tally();

  /**
   * Counts of a runner.
   *
   * @param requested requests passed to {@link #score} so far (counted when a call starts)
   * @param scored requests scored so far (per batch locally; per finished Spark task on executors)
   */
  record Tally(long requested, long scored) {}

  /** Requests {@code indices} (positions in the caller's list), scored together in one forward pass. */
  record Batch(int[] indices, Request[] requests) implements Serializable {}

  /** The scores of one batch, for the requests at {@code indices}. */
  record ScoredBatch(int[] indices, Score[] scores) implements Serializable {}

  /**
   * Batches of at most {@code batchSize} requests, longest first (ties by position), so that a batch holds
   * sequences of similar length (little padding) and a model too large for memory fails on the first batch.
   */
  static List<Batch> plan(List<Request> requests, int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch_size must be ≥ 1, got " + batchSize);
    }
    Integer[] order = new Integer[requests.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.<Integer>comparingInt(i -> -requests.get(i).length()).thenComparingInt(i -> i));
    List<Batch> batches = new ArrayList<>();
    for (int start = 0; start < order.length; start += batchSize) {
      int size = Math.min(batchSize, order.length - start);
      int[] indices = new int[size];
      Request[] batch = new Request[size];
      for (int j = 0; j < size; j++) {
        indices[j] = order[start + j];
        batch[j] = requests.get(indices[j]);
      }
      batches.add(new Batch(indices, batch));
    }
    return batches;
  }

  /** Scores one batch with {@code model}. */
  static ScoredBatch score(ScoringModel model, Batch batch) {
    return new ScoredBatch(batch.indices(), LogLikelihood.score(model, Arrays.asList(batch.requests())));
  }

  /** Puts the scores of {@code batches} back in request order; fails if a request was not scored. */
  static Score[] scatter(List<ScoredBatch> batches, int count) {
    Score[] scores = new Score[count];
    for (ScoredBatch batch : batches) {
      for (int j = 0; j < batch.indices().length; j++) {
        scores[batch.indices()[j]] = batch.scores()[j];
      }
    }
    for (int i = 0; i < count; i++) {
      if (scores[i] == null) {
        throw new IllegalStateException("request " + i + " of " + count + " came back unscored");
      }
    }
    return scores;
  }
}
