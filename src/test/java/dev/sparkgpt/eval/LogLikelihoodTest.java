package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LogLikelihoodTest {
  /** Logits are float32 ln p, so log-probabilities match ln p to about 1e-7. */
  private static final double TOL = 1e-6;
  private static final double[][] P = {
      {0.5, 0.25, 0.25},
      {0.1, 0.2, 0.7},
      {0.6, 0.3, 0.1}};

  private static Request request(int[] context, int... continuation) {
    return new Request(context, continuation);
  }

  /** Remembers the padded batch it was given. */
  private static class Recording extends TestModels.LogitsOnly {
    final List<int[][]> seen = new ArrayList<>();

    Recording(ScoringModel inner) {
      super(inner);
    }

    @Override
    public float[][][] logits(int[][] ids) {
      seen.add(ids);
      return inner.logits(ids);
    }
  }

  @Test
  void sumsLogProbabilitiesOfTheContinuationTokensOnly() {
    TestModels.Bigram model = TestModels.Bigram.ofProbabilities(P, 8);
    Score[] s = LogLikelihood.score(model, List.of(
        request(new int[] {0}, 1, 2),        // p(1|0) p(2|1) = .25 * .7
        request(new int[] {1, 1, 2}, 0, 0),  // p(0|2) p(0|0) = .6 * .5; context tokens are not scored
        request(new int[] {2}, 2)));         // p(2|2) = .1
    assertEquals(Math.log(0.25) + Math.log(0.7), s[0].logProb(), TOL);
    assertEquals(Math.log(0.6) + Math.log(0.5), s[1].logProb(), TOL);
    assertEquals(Math.log(0.1), s[2].logProb(), TOL);
    assertFalse(s[0].greedy(), "argmax after 0 is 0, not 1");
    assertTrue(s[1].greedy(), "0 is the argmax after 2 and after 0");
    assertFalse(s[2].greedy());
  }

  @Test
  void padsOnTheRightAndCutsLongRequestsFromTheLeft() {
    Recording model = new Recording(TestModels.Bigram.ofProbabilities(P, 3));
    Score[] s = LogLikelihood.score(model, List.of(
        request(new int[] {0}, 1, 2),
        request(new int[] {2, 0, 1, 0, 2}, 1))); // 6 tokens > context + 1 = 4: keep [1, 0, 2, 1]
    assertEquals(1, model.seen.size());
    assertArrayEquals(new int[][] {{0, 1, 0}, {1, 0, 2}}, model.seen.get(0));
    assertEquals(Math.log(0.3), s[1].logProb(), TOL);
  }

  @Test
  void aRequestScoresTheSameAloneAndInABatchOfOtherLengths() {
    TestModels.Hashed model = new TestModels.Hashed(11, 5);
    List<Request> batch = List.of(request(new int[] {3, 4, 5, 6, 7, 8, 9}, 1, 2), request(new int[] {1}, 10),
        request(new int[] {0, 0}, 4, 4, 4));
    Score[] together = LogLikelihood.score(model, batch);
    for (int i = 0; i < batch.size(); i++) {
      assertEquals(LogLikelihood.score(model, List.of(batch.get(i)))[0], together[i], "request " + i);
    }
  }

  @Test
  void logSumExpIsStableForHugeLogitsAndArgmaxTakesTheFirstMaximum() {
    assertEquals(1000 + Math.log(2), LogLikelihood.logSumExp(new float[] {1000, 1000, Float.NEGATIVE_INFINITY}),
        1e-12);
    assertEquals(1, LogLikelihood.argmax(new float[] {1, 3, 3, 2}));
  }

  @Test
  void refusesAContinuationLongerThanTheContext() {
    var e = assertThrows(EvalException.class, () -> LogLikelihood.score(TestModels.Bigram.ofProbabilities(P, 2),
        List.of(request(new int[] {0}, 1, 1, 1))));
    assertTrue(e.getMessage().contains("continuation of 3 tokens does not fit the model's context of 2"),
        e.getMessage());
  }

  @Test
  void refusesIdsOutsideTheVocabulary() {
    var e = assertThrows(EvalException.class, () -> LogLikelihood.score(TestModels.Bigram.ofProbabilities(P, 8),
        List.of(request(new int[] {0}, 3))));
    assertTrue(e.getMessage().contains("token id 3 is outside the model's vocabulary of 3 ids"), e.getMessage());
  }

  @Test
  void refusesLogitsOfTheWrongShape() {
    ScoringModel wrong = new Recording(new TestModels.Uniform(3, 8)) {
      @Override
      public float[][][] logits(int[][] ids) {
        return new float[ids.length][ids[0].length][2];
      }
    };
    var e = assertThrows(EvalException.class, () -> LogLikelihood.score(wrong, List.of(request(new int[] {0}, 1))));
    assertTrue(e.getMessage().contains("returned 2 logits at row 0, position 0, expected vocab_size=3"),
        e.getMessage());
  }

  @Test
  void refusesEmptyContextOrContinuation() {
    assertThrows(IllegalArgumentException.class, () -> new Request(new int[0], new int[] {1}));
    assertThrows(IllegalArgumentException.class, () -> new Request(new int[] {1}, new int[0]));
  }
}
