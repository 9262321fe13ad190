package dev.sparkgpt.train;

import dev.sparkgpt.config.OuterUpdate;
import dev.sparkgpt.config.ExchangeDtype;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.data.TrainingWindows;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

/** The outer step's arithmetic, the wire format, and rounds that exchange pseudo-gradients (DiLoCo). */
class OuterExchangeTest extends SparkTestBase {
  private static final int VOCAB = 12;

  private static TrainingWindows windows(int n, long seed) {
    Random r = new Random(seed);
    int[] s = new int[n];
    for (int i = 1; i < n; i++) {
      s[i] = r.nextInt(8) == 0 ? r.nextInt(VOCAB) : (s[i - 1] * 5 + 2) % VOCAB;
    }
    return TrainingWindows.fromStream(s, 6, 6);
  }

  @Test
  void nesterovMatchesAHandComputation() {
    OuterOptimizer o = new OuterOptimizer(OuterUpdate.NESTEROV, 0.7, 0.9);
    float[] d = {1f, -2f};
    o.update(0, d, 2);
    // b = 0.9·0 + Δ = Δ; u = 0.7·(Δ + 0.9·b) = 1.33·Δ
    assertArrayEquals(new float[] {1.33f, -2.66f}, d, 1e-6f);
    float[] d2 = {2f, 0f};
    o.update(0, d2, 2);
    // b = 0.9·[1, −2] + [2, 0] = [2.9, −1.8]; u = 0.7·([2, 0] + 0.9·b) = [3.227, −1.134]
    assertArrayEquals(new float[] {3.227f, -1.134f}, d2, 1e-6f);
    OuterOptimizer restored = new OuterOptimizer(OuterUpdate.NESTEROV, 0.7, 0.9);
    restored.load(o.state());
    float[] d3 = {1f, 1f};
    float[] d3copy = d3.clone();
    restored.update(0, d3, 2);
    o.update(0, d3copy, 2);
    assertArrayEquals(d3copy, d3, 0f, "the checkpointed momentum continues exactly");
    float[] same = {5f};
    new OuterOptimizer(OuterUpdate.AVERAGE, 0.7, 0.9).update(0, same, 1);
    assertEquals(5f, same[0], "average: the mean pseudo-gradient is the update");
  }

  @Test
  void chunksCoverTheVectorAndBfloat16RoundsToNearestEven() {
    List<Exchange.Chunk> chunks = Exchange.chunks(10, 4);
    assertEquals(List.of(new Exchange.Chunk(0, 0, 4), new Exchange.Chunk(1, 4, 4), new Exchange.Chunk(2, 8, 2)),
        chunks);
    float[] v = {1f, 1.00390625f, 1.01171875f, -3.5f};   // 1 + 2^-8 is a tie: to even (1); 1 + 3·2^-8 → 1 + 2^-6
    float[] back = new float[4];
    Exchange.decode(Exchange.encode(v, 4, ExchangeDtype.BF16), ExchangeDtype.BF16, back);
    assertArrayEquals(new float[] {1f, 1f, 1.015625f, -3.5f}, back, 0f);
    assertEquals(8, Exchange.encode(v, 4, ExchangeDtype.BF16).length);
    assertEquals(16, Exchange.encode(v, 4, ExchangeDtype.F32).length);
  }

  private static ParameterAveragingEngine engine(BigramStepModel driver, TrainingWindows train,
      AveragingRounds.Settings settings) {
    return ParameterAveragingEngine.builder(JavaSparkContext.fromSparkContext(spark.sparkContext()),
            new ParameterAveragingEngineTest.BigramFactory(VOCAB, 11), driver, new BlockSource(train, 4))
        .seed(0).shuffle(false).workers(2).frequency(3).microBatch(2).accumulation(1).exchange(settings).build();
  }

  @Test
  void oneNesterovRoundMovesTheModelByTheOuterStepOfTheMeanPseudoGradient() {
    TrainingWindows train = windows(6 * 40 + 1, 3);
    BigramStepModel driver = new BigramStepModel(VOCAB, 11);
    float[] start = driver.table.ravel().toFloatVector();
    engine(driver, train, new AveragingRounds.Settings(OuterUpdate.NESTEROV, 0.7, 0.9, ExchangeDtype.F32))
        .advance(0, s -> 0.5, 0);
    float[] mean = new float[start.length];
    for (int w = 0; w < 2; w++) {
      BigramStepModel alone = new BigramStepModel(VOCAB, 11);
      int[][][] byHand = {{{0, 1}, {2, 3}, {4, 5}}, {{8, 9}, {10, 11}, {12, 13}}}; // blocks of 4 opened in order
      for (int[] step : byHand[w]) {
        alone.step(new int[][][] {train.inputs(step)}, new int[][][] {train.targets(step)}, 0.5, 0);
      }
      float[] t = alone.table.ravel().toFloatVector();
      for (int i = 0; i < t.length; i++) {
        mean[i] += t[i] / 2;
      }
    }
    float[] expected = new float[start.length];
    for (int i = 0; i < start.length; i++) {
      float delta = start[i] - mean[i];
      expected[i] = start[i] - 0.7f * (delta + 0.9f * delta);     // first round: b = Δ
    }
    assertArrayEquals(expected, driver.table.ravel().toFloatVector(), 1e-5f);
  }

  @Test
  void bfloat16ExchangeInManyChunksIsDeterministicCloseToFloat32AndSendsLess() {
    TrainingWindows train = windows(6 * 60 + 1, 5);
    AveragingRounds.Settings bf16 = new AveragingRounds.Settings(OuterUpdate.NESTEROV, 0.7, 0.9,
        ExchangeDtype.BF16);
    float[][] runs = new float[2][];
    Map<String, Object> last = null;
    for (int run = 0; run < 2; run++) {
      BigramStepModel driver = new BigramStepModel(VOCAB, 11);
      ParameterAveragingEngine e = ParameterAveragingEngine.builder(
              JavaSparkContext.fromSparkContext(spark.sparkContext()),
              new ParameterAveragingEngineTest.BigramFactory(VOCAB, 11), driver, new BlockSource(train, 4))
          .seed(0).shuffle(false).workers(2).frequency(3).microBatch(2).accumulation(1).exchange(bf16)
          .chunkElements(7).build();     // 144 weights in chunks of 7
      for (long step = 0; step < 12; ) {
        TrainingEngine.Advance a = e.advance(step, s -> 0.5, 0);
        step += a.steps();
        last = a.metrics();
      }
      runs[run] = driver.table.ravel().toFloatVector();
      e.close();
    }
    assertArrayEquals(runs[0], runs[1], 0f, "same inputs, same bits");
    BigramStepModel f32 = new BigramStepModel(VOCAB, 11);
    ParameterAveragingEngine e = engine(f32, train, new AveragingRounds.Settings(OuterUpdate.NESTEROV, 0.7,
        0.9, ExchangeDtype.F32));
    for (long step = 0; step < 12; ) {
      step += e.advance(step, s -> 0.5, 0).steps();
    }
    float[] reference = f32.table.ravel().toFloatVector();
    double maxDiff = 0;
    for (int i = 0; i < reference.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(reference[i] - runs[0][i]));
    }
    assertTrue(maxDiff < 0.05 && maxDiff > 0, "bf16 vs f32 after 4 rounds: " + maxDiff);
    // after the first round only the bf16 update goes out and bf16 pseudo-gradients come back: 2 + 2·2 bytes/weight
    assertEquals(144L * 2, ((Number) last.get("broadcast_bytes")).longValue());
    assertEquals(2 * 144L * 2, ((Number) last.get("received_bytes")).longValue());
    assertEquals(2, ((List<?>) last.get("delta_norm")).size());
    double drift = ((Number) last.get("drift_cosine")).doubleValue();
    assertTrue(drift > -1 && drift <= 1.0000001, "mean pairwise cosine " + drift);
    assertNotEquals(0.0, ((Number) ((List<?>) last.get("delta_norm")).get(0)).doubleValue());
  }
}
