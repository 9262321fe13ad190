package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TrainingWindows;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

class ParameterAveragingEngineTest extends SparkTestBase {
  private static final int VOCAB = 12;

  /** Builds the same bigram model in an executor. */
  record BigramFactory(int vocab, long seed) implements ParameterAveragingEngine.ModelFactory {
    @Override
    public StepModel create() {
      return new BigramStepModel(vocab, seed);
    }

    @Override
    public String key() {
      return "bigram-" + vocab + "-" + seed;
    }
  }

  private static TrainingWindows windows(int n, long seed) {
    Random r = new Random(seed);
    int[] s = new int[n];
    for (int i = 1; i < n; i++) {
      s[i] = r.nextInt(8) == 0 ? r.nextInt(VOCAB) : (s[i - 1] * 5 + 2) % VOCAB;
    }
    return TrainingWindows.fromStream(s, 6, 6);
  }

  private static JavaSparkContext jsc() {
    return JavaSparkContext.fromSparkContext(spark.sparkContext());
  }

  private static void advance(TrainingEngine e, int steps) {
    for (long step = 0; step < steps; ) {
      TrainingEngine.Advance a = e.advance(step, s -> 0.8 / (1 + s), 1.0);
      step += a.steps();
    }
  }

  @Test
  void oneWorkerAveragingEveryStepEqualsTheLocalLoop() {
    TrainingWindows train = windows(3000, 1);
    BigramStepModel local = new BigramStepModel(VOCAB, 5);
    advance(new LocalEngine(local, train, 42, true, 4, 2), 12);
    BigramStepModel driver = new BigramStepModel(VOCAB, 5);
    ParameterAveragingEngine pa = new ParameterAveragingEngine(jsc(), new BigramFactory(VOCAB, 5), driver, train,
        42, true, 1, 1, 4, 2, AveragingRounds.Settings.AVERAGE);
    advance(pa, 12);
    assertEquals(local.table, driver.table);
  }

  @Test
  void workersFedIdenticalDataEqualOneWorker() {
    TrainingWindows base = windows(1200, 2);
    // interleave each window twice: worker 0 and worker 1 of 2 get the same slice, in the same (unshuffled) order
    int[] twice = new int[base.size() * 2];
    for (int i = 0; i < twice.length; i++) {
      twice[i] = i / 2;
    }
    TrainingWindows doubled = TrainingWindows.fromWindows(base, twice);
    BigramStepModel one = new BigramStepModel(VOCAB, 9);
    advance(new ParameterAveragingEngine(jsc(), new BigramFactory(VOCAB, 9), one, base, 3, false, 1, 3, 2, 1, AveragingRounds.Settings.AVERAGE), 9);
    BigramStepModel two = new BigramStepModel(VOCAB, 9);
    advance(new ParameterAveragingEngine(jsc(), new BigramFactory(VOCAB, 9), two, doubled, 3, false, 2, 3, 2, 1, AveragingRounds.Settings.AVERAGE), 9);
    assertArrayEquals(one.table.ravel().toFloatVector(), two.table.ravel().toFloatVector(), 1e-6f);
  }

  @Test
  void unevenSlicesAverageTheWorkersExactly() {
    TrainingWindows train = windows(6 * 7 + 1, 3); // 7 windows: slices of 4 and 3
    BigramStepModel driver = new BigramStepModel(VOCAB, 11);
    ParameterAveragingEngine pa = new ParameterAveragingEngine(jsc(), new BigramFactory(VOCAB, 11), driver, train,
        0, false, 2, 3, 2, 1, AveragingRounds.Settings.AVERAGE);
    TrainingEngine.Advance a = pa.advance(0, s -> 0.5, 0);
    assertEquals(3, a.steps());
    assertEquals(2, a.metrics().get("workers"));
    float[] expected = new float[VOCAB * VOCAB];
    for (int w = 0; w < 2; w++) {
      BigramStepModel alone = new BigramStepModel(VOCAB, 11);
      WindowCursor cursor = new WindowCursor(train.slice(w, 2), 0 + 1_000_003L * w, false);
      for (int i = 0; i < 3; i++) {
        WindowCursor.Batches b = cursor.next(1, 2);
        alone.step(b.inputs(), b.targets(), 0.5, 0);
      }
      float[] t = alone.table.ravel().toFloatVector();
      for (int i = 0; i < t.length; i++) {
        expected[i] += t[i] / 2;
      }
    }
    assertArrayEquals(expected, driver.table.ravel().toFloatVector(), 1e-6f);
    assertTrue((double) a.metrics().get("compute_ms") >= 0);
  }

  @Test
  void moreWorkersThanCoresIsRefused() {
    ConfigException e = assertThrows(ConfigException.class, () -> new ParameterAveragingEngine(jsc(),
        new BigramFactory(VOCAB, 1), new BigramStepModel(VOCAB, 1), windows(600, 1), 0, true, 5, 2, 2, 1, AveragingRounds.Settings.AVERAGE));
    assertTrue(e.getMessage().startsWith("train.workers: 5 workers but Spark offers 2 cores"), e.getMessage());
  }

  @Test
  void dataIsSplitByWindowsNotShardsAndTooFewWindowsAreRefused() {
    // one stream (one shard) of 2 windows: each of 2 workers trains on one
    ParameterAveragingEngine two = new ParameterAveragingEngine(jsc(), new BigramFactory(VOCAB, 1),
        new BigramStepModel(VOCAB, 1), windows(2 * 6 + 1, 3), 0, true, 2, 1, 1, 1, AveragingRounds.Settings.AVERAGE);
    TrainingEngine.Advance a = two.advance(0, s -> 0.1, 0);
    assertEquals(1, a.steps());
    assertEquals(2 * 6, a.tokens());
    ConfigException e = assertThrows(ConfigException.class, () -> new ParameterAveragingEngine(jsc(),
        new BigramFactory(VOCAB, 1), new BigramStepModel(VOCAB, 1), windows(6 + 1, 3), 0, true, 2, 1, 1, 1, AveragingRounds.Settings.AVERAGE));
    assertTrue(e.getMessage().startsWith("train.workers: 2 workers but only 1 training windows"), e.getMessage());
    assertTrue(e.getMessage().contains("use fewer workers or more data"), e.getMessage());
  }

  @Test
  void resumeFromAnotherWorldSizeReSplitsAtTheSameEpoch() {
    TrainingWindows train = windows(6 * 100 + 1, 4);
    ParameterAveragingEngine two = new ParameterAveragingEngine(jsc(), new BigramFactory(VOCAB, 1),
        new BigramStepModel(VOCAB, 1), train, 0, true, 2, 2, 5, 1, AveragingRounds.Settings.AVERAGE);
    advance(two, 12); // 2 workers × 12 steps × 5 windows = 120 windows: epoch 1, 20 in
    var saved = dev.sparkgpt.io.JsonFiles.MAPPER.valueToTree(two.cursor());
    ParameterAveragingEngine one = new ParameterAveragingEngine(jsc(), new BigramFactory(VOCAB, 1),
        new BigramStepModel(VOCAB, 1), train, 0, true, 1, 2, 5, 1, AveragingRounds.Settings.AVERAGE);
    one.restoreCursor((com.fasterxml.jackson.databind.JsonNode) saved);
    assertEquals(1, one.epoch());
    assertEquals(20, ((Number) ((java.util.Map<?, ?>) ((java.util.List<?>) one.cursor().get("per_worker")).get(0))
        .get("position")).intValue());
  }
}
