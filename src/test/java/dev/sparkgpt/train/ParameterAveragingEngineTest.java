package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.data.WindowSource;
import java.util.List;
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

  private static WindowSource one(TrainingWindows w) {
    return WindowSource.inMemory(w);
  }

  @Test
  void oneWorkerAveragingEveryStepEqualsTheLocalLoop() {
    WindowSource train = new BlockSource(windows(3000, 1), 37);
    BigramStepModel local = new BigramStepModel(VOCAB, 5);
    advance(new LocalEngine(local, train, 42, true, 4, 2), 12);
    BigramStepModel driver = new BigramStepModel(VOCAB, 5);
    ParameterAveragingEngine pa = ParameterAveragingEngine.builder(jsc(), new BigramFactory(VOCAB, 5), driver, train)
        .seed(42).shuffle(true).workers(1).frequency(1).microBatch(4).accumulation(2).build();
    advance(pa, 12);
    assertEquals(local.table, driver.table);
  }

  @Test
  void workersReadingTheSameWindowsEqualOneWorker() {
    // one unshuffled block: worker 0 reads it in epoch 0 and worker 1 in epoch 1, in the same order
    WindowSource base = one(windows(1200, 2));
    BigramStepModel one = new BigramStepModel(VOCAB, 9);
    advance(ParameterAveragingEngine.builder(jsc(), new BigramFactory(VOCAB, 9), one, base)
        .seed(3).shuffle(false).workers(1).frequency(3).microBatch(2).accumulation(1).build(), 9);
    BigramStepModel two = new BigramStepModel(VOCAB, 9);
    advance(ParameterAveragingEngine.builder(jsc(), new BigramFactory(VOCAB, 9), two, base)
        .seed(3).shuffle(false).workers(2).frequency(3).microBatch(2).accumulation(1).build(), 9);
    assertArrayEquals(one.table.ravel().toFloatVector(), two.table.ravel().toFloatVector(), 1e-6f);
  }

  @Test
  void eachWorkerTrainsOnTheBlocksItOpensAndTheRoundAveragesThem() {
    TrainingWindows train = windows(6 * 30 + 1, 3);
    BigramStepModel driver = new BigramStepModel(VOCAB, 11);
    ParameterAveragingEngine pa = ParameterAveragingEngine.builder(jsc(), new BigramFactory(VOCAB,
        11), driver, new BlockSource(train, 4))
        .seed(0).shuffle(false).workers(2).frequency(3).microBatch(2).accumulation(1).build();
    TrainingEngine.Advance a = pa.advance(0, s -> 0.5, 0);
    assertEquals(3, a.steps());
    assertEquals(2, a.metrics().get("workers"));
    // unshuffled blocks of 4 opened in order: worker 0 takes blocks 0 and 1 (windows 0-5), worker 1 blocks 2, 3
    int[][][] byHand = {{{0, 1}, {2, 3}, {4, 5}}, {{8, 9}, {10, 11}, {12, 13}}};
    float[] expected = new float[VOCAB * VOCAB];
    for (int w = 0; w < 2; w++) {
      BigramStepModel alone = new BigramStepModel(VOCAB, 11);
      for (int[] step : byHand[w]) {
        alone.step(new int[][][] {train.inputs(step)}, new int[][][] {train.targets(step)}, 0.5, 0);
      }
      float[] t = alone.table.ravel().toFloatVector();
      for (int i = 0; i < t.length; i++) {
        expected[i] += t[i] / 2;
      }
    }
    assertArrayEquals(expected, driver.table.ravel().toFloatVector(), 1e-6f);
    assertTrue((double) a.metrics().get("compute_ms") >= 0);
    assertEquals(List.of(List.of(0L, 1, 2), List.of(0L, 3, 2)), pa.cursor().get("lanes"));
    assertEquals(4, ((Number) pa.cursor().get("next_index")).intValue());
  }

  @Test
  void moreWorkersThanCoresIsRefused() {
    ConfigException e = assertThrows(ConfigException.class, () -> ParameterAveragingEngine.builder(jsc(),
        new BigramFactory(VOCAB, 1), new BigramStepModel(VOCAB, 1), one(windows(600, 1)))
        .seed(0).shuffle(true).workers(5).frequency(2).microBatch(2).accumulation(1).build());
    assertTrue(e.getMessage().startsWith("train.workers: 5 workers but Spark offers 2 cores"), e.getMessage());
  }

  @Test
  void moreWorkersThanWindowsReadLaterEpochs() {
    // one window, two workers: worker 1 trains on epoch 1's copy of it
    ParameterAveragingEngine two = ParameterAveragingEngine.builder(jsc(), new BigramFactory(VOCAB,
        1), new BigramStepModel(VOCAB, 1), one(windows(6 + 1, 3)))
        .seed(0).shuffle(true).workers(2).frequency(1).microBatch(1).accumulation(1).build();
    TrainingEngine.Advance a = two.advance(0, s -> 0.1, 0);
    assertEquals(1, a.steps());
    assertEquals(2 * 6, a.tokens());
    assertEquals(List.of(List.of(0L, 0, 1), List.of(1L, 0, 1)), two.cursor().get("lanes"));
  }

  @Test
  void aResumeWithAnotherWorkerCountTrainsOnExactlyTheWindowsNotYetSeen() {
    TrainingWindows train = windows(6 * 100 + 1, 4);
    WindowSource source = new BlockSource(train, 7);
    ParameterAveragingEngine two = ParameterAveragingEngine.builder(jsc(), new BigramFactory(VOCAB,
        1), new BigramStepModel(VOCAB, 1), source)
        .seed(0).shuffle(true).workers(2).frequency(2).microBatch(5).accumulation(1).build();
    advance(two, 12); // 2 workers × 12 steps × 5 windows = 120 windows
    var saved = (com.fasterxml.jackson.databind.JsonNode) dev.sparkgpt.io.JsonFiles.MAPPER.valueToTree(two.cursor());
    ParameterAveragingEngine one = ParameterAveragingEngine.builder(jsc(), new BigramFactory(VOCAB,
        1), new BigramStepModel(VOCAB, 1), source)
        .seed(0).shuffle(true).workers(1).frequency(2).microBatch(5).accumulation(1).build();
    one.restoreCursor(saved);
    assertEquals(null, one.cursorWarning());
    assertEquals(6, ((Number) one.cursor().get("round")).intValue());
    // the cursor arithmetic itself (every window of epochs 0 and 1 once, 2 → 1 and 1 → 2) is GlobalCursorTest's
    TrainingEngine.Advance a = one.advance(12, s -> 0.1, 0);
    assertEquals(2, a.steps());
    assertEquals(2 * 5 * 6, a.tokens());
  }
}
