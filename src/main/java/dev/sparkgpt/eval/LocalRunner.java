package dev.sparkgpt.eval;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Scores requests one batch after another on the calling thread, with one model (no Spark needed). */
public final class LocalRunner implements RequestRunner {
  private final ScoringModel model;
  private final int batchSize;

  public LocalRunner(ScoringModel model, int batchSize) {
    this.model = Objects.requireNonNull(model, "model");
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch_size must be ≥ 1, got " + batchSize);
    }
    this.batchSize = batchSize;
  }

  @Override
  public Score[] score(List<Request> requests) {
    List<ScoredBatch> scored = new ArrayList<>();
    for (Batch batch : RequestRunner.plan(requests, batchSize)) {
      scored.add(RequestRunner.score(model, batch));
    }
    return RequestRunner.scatter(scored, requests.size());
  }
}
