package dev.sparkgpt.eval;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.util.LongAccumulator;

/**
 * Scores requests on Spark executors: the driver plans the batches (as {@link LocalRunner} does), deals them
 * round-robin into one group per partition (so long and short batches spread evenly), and each task builds its
 * model once from the serialisable {@link ModelFactory} and scores its group. Only scores travel back.
 */
public final class SparkRunner implements RequestRunner {
  private final JavaSparkContext jsc;
  private final ModelFactory factory;
  private final int batchSize;
  private final int partitions;
  private final AtomicLong requested = new AtomicLong();
  private final LongAccumulator scored;
  private String description = "sparkgpt eval";

  /** {@code partitions} ≤ 0 means Spark's default parallelism (one model per core). */
  public SparkRunner(JavaSparkContext jsc, ModelFactory factory, int batchSize, int partitions) {
    this.jsc = Objects.requireNonNull(jsc, "jsc");
    this.factory = Objects.requireNonNull(factory, "factory");
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch_size must be ≥ 1, got " + batchSize);
    }
    this.batchSize = batchSize;
    this.partitions = partitions > 0 ? partitions : jsc.defaultParallelism();
    this.scored = jsc.sc().longAccumulator("sparkgpt eval requests scored");
  }

  /** Names the next Spark jobs in the UI and logs (e.g. the task being scored). */
  public SparkRunner describe(String text) {
    this.description = text;
    return this;
  }

  @Override
  public Score[] score(List<Request> requests) {
    requested.addAndGet(requests.size());
    List<Batch> batches = RequestRunner.plan(requests, batchSize);
    if (batches.isEmpty()) {
      return new Score[0];
    }
    int groupCount = Math.min(partitions, batches.size());
    List<List<Batch>> groups = new ArrayList<>();
    for (int g = 0; g < groupCount; g++) {
      groups.add(new ArrayList<>());
    }
    for (int i = 0; i < batches.size(); i++) {
      groups.get(i % groupCount).add(batches.get(i));
    }
    jsc.setJobDescription(description);
    List<ScoredBatch> batchScores = jsc.parallelize(groups, groupCount).flatMap(new ScoreGroup(factory, scored))
        .collect();
    return RequestRunner.scatter(batchScores, requests.size());
  }

  @Override
  public Tally tally() {
    return new Tally(requested.get(), scored.value());
  }

  /** Runs on an executor: one model for the whole group of batches. */
  static final class ScoreGroup implements FlatMapFunction<List<Batch>, ScoredBatch> {
    private static final long serialVersionUID = 1L;
    private final ModelFactory factory;
    private final LongAccumulator scored;

    ScoreGroup(ModelFactory factory, LongAccumulator scored) {
      this.factory = factory;
      this.scored = scored;
    }

    @Override
    public Iterator<ScoredBatch> call(List<Batch> group) {
      ScoringModel model = factory.create();
      List<ScoredBatch> out = new ArrayList<>(group.size());
      for (Batch batch : group) {
        out.add(RequestRunner.score(model, batch));
        scored.add(batch.indices().length);
      }
      return out.iterator();
    }
  }
}
