package dev.sparkgpt.eval;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/** Scores requests one batch after another on the calling thread, with one model (no Spark needed). */
public final class LocalRunner implements RequestRunner {
  private final ScoringModel model;
  private final int batchSize;
  private final AtomicLong requested = new AtomicLong();
  private final AtomicLong scored = new AtomicLong();

  public LocalRunner(ScoringModel model, int batchSize) {
    this.model = Objects.requireNonNull(model, "model");
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch_size must be ≥ 1, got " + batchSize);
    }
    this.batchSize = batchSize;
  }

  @Override
  public Score[] score(List<Request> requests) {
    requested.addAndGet(requests.size());
    List<ScoredBatch> batches = new ArrayList<>();
    for (Batch batch : RequestRunner.plan(requests, batchSize)) {
      batches.add(RequestRunner.score(model, batch));
      scored.addAndGet(batch.indices().length);
    }
    return RequestRunner.scatter(batches, requests.size());
  }

  @Override
  public Tally tally() {
    return new Tally(requested.get(), scored.get());
  }
}
