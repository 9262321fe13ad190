package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The fused LM head + cross-entropy: values against a plain log-sum-exp, gradients against finite differences. */
class LanguageModelHeadTest {
  static {
    OneThread.pin();
  }

  private static final int ROWS = 7;
  private static final int VOCAB = 13;
  private static final int WIDTH = 5;
  private final INDArray hidden = GradientCheck.random(1, 1.0, ROWS, WIDTH);
  private final INDArray weight = GradientCheck.random(2, 0.7, VOCAB, WIDTH);
  private final int[] targets = {3, -100, 12, 0, 3, -100, 7};
  private final float[] weights = {1f, 5f, 0.5f, 0f, 2f, 1f, 1.5f};

  /** Σ weight · (log Σ_v exp(z_v) - z_y) computed the plain way, in double. */
  private double expectedLossSum(float[] w) {
    double sum = 0;
    for (int i = 0; i < ROWS; i++) {
      if (targets[i] == -100) {
        continue;
      }
      double max = Double.NEGATIVE_INFINITY;
      double[] z = new double[VOCAB];
      for (int v = 0; v < VOCAB; v++) {
        z[v] = hidden.getRow(i).mul(weight.getRow(v)).sumNumber().doubleValue();
        max = Math.max(max, z[v]);
      }
      double exp = 0;
      for (double zv : z) {
        exp += Math.exp(zv - max);
      }
      sum += (w == null ? 1 : w[i]) * (max + Math.log(exp) - z[targets[i]]);
    }
    return sum;
  }

  @Test
  void lossIsTheWeightedLogSumExpCrossEntropyOverNonIgnoredTargets() {
    LanguageModelHead head = new LanguageModelHead(new BufferPool());
    assertEquals(expectedLossSum(weights), head.lossAndGradient(hidden, weight, targets, weights, 1, null, null),
        1e-12);
    assertEquals(expectedLossSum(null), head.lossAndGradient(hidden, weight, targets, null, 1, null, null), 1e-12);
  }

  @Test
  void gradientsMatchFiniteDifferencesAcrossChunks() {
    double normalizer = 6.5;
    for (long chunk : new long[] {LanguageModelHead.CHUNK_LOGITS, 2 * VOCAB, VOCAB}) {
      LanguageModelHead head = new LanguageModelHead(chunk, new BufferPool());
      INDArray dHidden = hidden.ulike();
      INDArray dWeight = weight.like();
      head.lossAndGradient(hidden, weight, targets, weights, normalizer, dHidden, dWeight);
      GradientCheck.assertGradients(Map.of("hidden", hidden, "weight", weight),
          Map.of("hidden", dHidden, "weight", dWeight),
          () -> head.lossAndGradient(hidden, weight, targets, weights, normalizer, null, null) / normalizer, 30, 3);
      assertEquals(0.0, dHidden.getRow(1).amaxNumber().doubleValue(), "ignored row");
      assertEquals(0.0, dHidden.getRow(3).amaxNumber().doubleValue(), "zero-weight row");
    }
  }

  @Test
  void aLowRankAdapterOnTheHeadIsExactAcrossChunksWithDropoutAndAFrozenWeight() {
    // logits = h · Wᵀ + 0.7 · ((h ⊙ mask) · A) · B with W frozen (no weight gradient array): dA, dB and dh against
    // finite differences, rows 1 and 3 skipped so the chunks' rows are not consecutive
    double normalizer = 6.5;
    INDArray a = GradientCheck.random(4, 0.5, WIDTH, 3);
    INDArray b = GradientCheck.random(5, 0.5, 3, VOCAB);
    INDArray mask = Nd4j.createFromArray(new double[][] {{2, 0, 2, 2, 0}, {2, 2, 2, 0, 2}, {0, 2, 2, 2, 2},
        {2, 2, 0, 2, 2}, {2, 2, 2, 2, 0}, {0, 0, 2, 2, 2}, {2, 2, 2, 0, 0}});                 // p = 0.5
    for (long chunk : new long[] {LanguageModelHead.CHUNK_LOGITS, 2 * VOCAB, VOCAB}) {
      INDArray gradA = a.ulike().assign(0);
      INDArray gradB = b.ulike().assign(0);
      LowRankAdapter adapter = new LowRankAdapter(ParamNames.OUT_HEAD, ParamNames.OUT_HEAD, true, 0, a, b, gradA,
          gradB, 0.7, 0.5);
      BufferPool pool = new BufferPool();
      Adapters adapters = new Adapters(pool);
      adapters.set(java.util.List.of(adapter));
      adapter.useMask(mask);
      LanguageModelHead head = new LanguageModelHead(chunk, pool, adapters);
      INDArray dHidden = hidden.ulike();
      head.lossAndGradient(hidden, weight, targets, weights, normalizer, dHidden, null);
      GradientCheck.assertGradients(Map.of("hidden", hidden, "A", a, "B", b),
          Map.of("hidden", dHidden, "A", gradA, "B", gradB),
          () -> head.lossAndGradient(hidden, weight, targets, weights, normalizer, null, null) / normalizer, 30, 6);
      assertEquals(0.0, dHidden.getRow(1).amaxNumber().doubleValue(), "ignored row");
    }
  }

  @Test
  void underflowingTargetProbabilityStillGivesTheExactLossInFloat32() {
    // target logit 200 below the others: p_y = e^-200 is 0 in float32, the loss must still be ≈ 200
    INDArray h = Nd4j.createFromArray(new float[][] {{1f, 0f}, {0.5f, 0.5f}});
    INDArray w = Nd4j.createFromArray(new float[][] {{0f, 0f}, {-200f, 0f}, {0f, 0f}});
    LanguageModelHead head = new LanguageModelHead(new BufferPool());
    double loss = head.lossAndGradient(h, w, new int[] {1, 0}, null, 1, h.like(), w.like());
    double row0 = 200 + Math.log(2 + Math.exp(-200));
    double row1 = Math.log(2 + Math.exp(-100));
    assertEquals(row0 + row1, loss, 1e-4);
    assertTrue(Double.isFinite(loss));
  }

  /** ln softmax(logits[i])[targets[i]] the plain way, in double; NaN where the target is ignored. */
  private static double[] plainLogProbs(INDArray logits, int[] targets) {
    double[] out = new double[targets.length];
    for (int i = 0; i < targets.length; i++) {
      double[] z = logits.getRow(i).toDoubleVector();
      double sum = 0;
      double max = Arrays.stream(z).max().orElseThrow();
      for (double zv : z) {
        sum += Math.exp(zv - max);
      }
      out[i] = targets[i] == -100 ? Double.NaN : z[targets[i]] - max - Math.log(sum);
    }
    return out;
  }

  /** Scores rows of the given head with targets; NaN/false where nothing was written. */
  private static double[] targetLogProbs(LanguageModelHead head, INDArray h, INDArray w, int[] y, boolean[] greedy) {
    double[] logProbs = new double[y.length];
    Arrays.fill(logProbs, Double.NaN);
    head.targetLogProbs(h, w, y, logProbs, greedy);
    return logProbs;
  }

  @Test
  void targetLogProbsAreTheLogSoftmaxAtTheTargetRowsOnlyAcrossChunks() {
    INDArray logits = new LanguageModelHead(new BufferPool()).logits(hidden, weight);
    int[] y = targets.clone();
    y[0] = logits.getRow(0).argMax().getInt(0);                  // two rows whose target greedy decoding picks
    y[4] = logits.getRow(4).argMax().getInt(0);
    boolean[] expectedGreedy = new boolean[ROWS];
    for (int i = 0; i < ROWS; i++) {
      expectedGreedy[i] = y[i] != -100 && logits.getRow(i).argMax().getInt(0) == y[i];
    }
    assertTrue(expectedGreedy[0] && expectedGreedy[4] && !expectedGreedy[3], "row 3's target 0 is not its argmax");
    double[] expected = plainLogProbs(logits, y);
    for (long chunk : new long[] {LanguageModelHead.CHUNK_LOGITS, 2 * VOCAB, VOCAB}) {
      LanguageModelHead head = new LanguageModelHead(chunk, new BufferPool());
      boolean[] greedy = new boolean[ROWS];
      double[] logProbs = targetLogProbs(head, hidden, weight, y, greedy);
      assertArrayEquals(expected, logProbs, 1e-12, "chunk " + chunk + " (NaN at the ignored rows 1 and 5)");
      assertArrayEquals(expectedGreedy, greedy, "chunk " + chunk);
      assertEquals(head.lossAndGradient(hidden, weight, y, null, 1, null, null),
          -Arrays.stream(logProbs).filter(Double::isFinite).sum(), 1e-12, "Σ -ln p = the training loss");
    }
  }

  @Test
  void targetLogProbsInFloat32TakeTheFirstMaximumAsGreedyAndIncludeAHeadAdapter() {
    // z = [1, 2, 2] for both rows: id 1 is greedy, id 2 ties with it but comes later
    INDArray h = Nd4j.createFromArray(new float[][] {{1f, 0f}, {1f, 0f}});
    INDArray w = Nd4j.createFromArray(new float[][] {{1f, 0f}, {2f, 5f}, {2f, -5f}});
    boolean[] greedy = new boolean[2];
    double[] logProbs = targetLogProbs(new LanguageModelHead(new BufferPool()), h, w, new int[] {1, 2}, greedy);
    double logZ = Math.log(Math.exp(1) + 2 * Math.exp(2));
    assertArrayEquals(new double[] {2 - logZ, 2 - logZ}, logProbs, 1e-6);
    assertArrayEquals(new boolean[] {true, false}, greedy);

    // with an adapter on the head (eval: no mask) the scores are those of the adapted logits
    INDArray a = GradientCheck.random(4, 0.5, WIDTH, 3);
    INDArray b = GradientCheck.random(5, 0.5, 3, VOCAB);
    BufferPool pool = new BufferPool();
    Adapters adapters = new Adapters(pool);
    adapters.set(java.util.List.of(new LowRankAdapter(ParamNames.OUT_HEAD, ParamNames.OUT_HEAD, true, 0, a, b,
        a.ulike(), b.ulike(), 0.7, 0.0)));
    INDArray adapted = new LanguageModelHead(LanguageModelHead.CHUNK_LOGITS, pool, adapters).logits(hidden, weight);
    assertFalse(adapted.equalsWithEps(new LanguageModelHead(new BufferPool()).logits(hidden, weight), 1e-3));
    double[] scores = targetLogProbs(new LanguageModelHead(VOCAB, pool, adapters), hidden, weight, targets,
        new boolean[ROWS]);
    assertArrayEquals(plainLogProbs(adapted, targets), scores, 1e-12);
  }

  @Test
  void logitsAreHiddenTimesWeightTransposed() {
    INDArray logits = new LanguageModelHead(new BufferPool()).logits(hidden, weight);
    assertEquals(hidden.getRow(4).mul(weight.getRow(9)).sumNumber().doubleValue(), logits.getDouble(4, 9), 1e-12);
    assertEquals(DataType.DOUBLE, logits.dataType());
  }
}
