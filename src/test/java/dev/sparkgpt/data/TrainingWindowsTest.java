package dev.sparkgpt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrainingWindowsTest {
  private static final int I = TrainingWindows.IGNORE_INDEX;

  @Test
  void rowsGiveWindowsAtMultiplesOfTheContextAndMaskPadding() {
    // seq_len 6: a full row and a last row with 4 real tokens
    List<ShardReader.ShardRow> rows = List.of(
        new ShardReader.ShardRow(new int[] {0, 1, 2, 3, 4, 5, 6}, 7, 0, 0),
        new ShardReader.ShardRow(new int[] {6, 7, 8, 9, 99, 99, 99}, 4, 0, 6));
    TrainingWindows w = TrainingWindows.fromRows(rows, 3);
    assertEquals(3, w.size()); // row 0: [0..3],[3..6]; row 1: [6..9] (the second window has no real target)
    assertArrayEquals(new int[][] {{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}, w.inputs(new int[] {0, 1, 2}));
    assertArrayEquals(new int[][] {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, w.targets(new int[] {0, 1, 2}));
    assertEquals(9, w.targetTokens());

    TrainingWindows whole = TrainingWindows.fromRows(rows, 6);
    assertArrayEquals(new int[][] {{7, 8, 9, I, I, I}}, whole.targets(new int[] {1}));
  }

  @Test
  void slidingWindowFollowsTheBook() {
    int[] stream = {10, 11, 12, 13, 14, 15, 16, 17, 18};
    TrainingWindows w = TrainingWindows.fromStream(stream, 4, 4);
    assertEquals(2, w.size());
    assertArrayEquals(new int[][] {{10, 11, 12, 13}, {14, 15, 16, 17}}, w.inputs(new int[] {0, 1}));
    assertArrayEquals(new int[][] {{11, 12, 13, 14}, {15, 16, 17, 18}}, w.targets(new int[] {0, 1}));
    assertEquals(5, TrainingWindows.fromStream(stream, 4, 1).size());
  }

  @Test
  void epochOrderIsAReproduciblePermutation() {
    int[] stream = new int[1001];
    TrainingWindows w = TrainingWindows.fromStream(stream, 4, 1);
    int[] a = w.order(7, 0, true);
    assertArrayEquals(a, w.order(7, 0, true));
    assertNotEquals(Arrays.toString(a), Arrays.toString(w.order(7, 1, true)));
    int[] sorted = a.clone();
    Arrays.sort(sorted);
    assertArrayEquals(w.order(7, 0, false), sorted);
  }
}
