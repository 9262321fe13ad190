package dev.sparkgpt.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SamplerTest {
  private static final float[] LOGITS = {1f, 3f, 3f, 0f, (float) Math.log(0.5) + 3f};

  @Test
  void greedyTakesTheLargestAndTheSmallerIdOnTies() {
    assertEquals(1, Sampler.greedy().next(LOGITS, 5));
    assertEquals(0, Sampler.greedy().next(LOGITS, 1));
  }

  @Test
  void topKOneIsGreedy() {
    Sampler s = new Sampler(1.0, 1, 1.0, 7);
    for (int i = 0; i < 50; i++) {
      assertEquals(1, s.next(LOGITS, 5));
    }
  }

  @Test
  void frequenciesFollowTheTemperedSoftmaxWithinTopK() {
    // top-3 of LOGITS: ids 1, 2 (e^3 each) and 4 (0.5·e^3): probabilities 0.4, 0.4, 0.2
    Sampler s = new Sampler(1.0, 3, 1.0, 42);
    int[] counts = new int[5];
    int n = 100_000;
    for (int i = 0; i < n; i++) {
      counts[s.next(LOGITS, 5)]++;
    }
    assertEquals(0, counts[0] + counts[3]);
    assertEquals(0.4, counts[1] / (double) n, 0.01);
    assertEquals(0.4, counts[2] / (double) n, 0.01);
    assertEquals(0.2, counts[4] / (double) n, 0.01);
  }

  @Test
  void topPKeepsTheSmallestSetReachingP() {
    // probabilities over ids 1,2,4 (top-3) are 0.4, 0.4, 0.2: p = 0.8 keeps ids 1 and 2 only
    Sampler s = new Sampler(1.0, 3, 0.8, 1);
    for (int i = 0; i < 2000; i++) {
      int id = s.next(LOGITS, 5);
      assertTrue(id == 1 || id == 2, "id " + id);
    }
  }

  @Test
  void sameSeedSameTokens() {
    Sampler a = new Sampler(0.8, 0, 0.95, 123);
    Sampler b = new Sampler(0.8, 0, 0.95, 123);
    for (int i = 0; i < 100; i++) {
      assertEquals(a.next(LOGITS, 5), b.next(LOGITS, 5));
    }
  }

  @Test
  void badSettingsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Sampler(-1, 0, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new Sampler(1, -2, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 0, 0, 0));
  }

  @Test
  void theOrderIsLogitsDescendingThenIdsAsAComparatorSortGivesIt() {
    java.util.Random r = new java.util.Random(3);
    float[] logits = new float[5000];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = switch (i % 7) {
        case 0 -> 1.5f;                          // ties
        case 1 -> -0.0f;
        case 2 -> 0.0f;
        case 3 -> Float.NEGATIVE_INFINITY;
        default -> (float) r.nextGaussian() * 10;
      };
    }
    Integer[] expected = new Integer[logits.length];
    for (int i = 0; i < expected.length; i++) {
      expected[i] = i;
    }
    java.util.Arrays.sort(expected, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a])
        : Integer.compare(a, b));
    org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.stream(expected).mapToInt(Integer::intValue)
        .toArray(), Sampler.byLogitDescending(logits, logits.length));
  }
}
