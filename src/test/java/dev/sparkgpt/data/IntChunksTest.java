package dev.sparkgpt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Chunked int runs behave as one array across chunk edges, truncation, trimming and growing again. */
class IntChunksTest {
  @Test
  void appendsCopiesAndRangesCrossChunkEdgesLikeOneArray() {
    Random random = new Random(3);
    int total = IntChunks.CHUNK * 2 + 12_345;
    int[] expected = random.ints(total, 0, 50257).toArray();
    IntChunks c = new IntChunks();
    int at = 0;
    while (at < total) { // uneven appends, some straddling a chunk edge, some single ids
      int n = Math.min(total - at, random.nextInt(70_000) + 1);
      if (n == 1) {
        c.add(expected[at]);
      } else {
        c.addAll(expected, at, n);
      }
      at += n;
    }
    assertEquals(total, c.size());
    for (int i : new int[] {0, IntChunks.CHUNK - 1, IntChunks.CHUNK, total - 1}) {
      assertEquals(expected[i], c.get(i));
    }
    int from = IntChunks.CHUNK - 100;
    int[] window = new int[IntChunks.CHUNK + 300];
    c.copyTo(from, window, 0, window.length);
    assertArrayEquals(java.util.Arrays.copyOfRange(expected, from, from + window.length), window);

    IntChunks part = new IntChunks();
    part.addRange(c, from, window.length);
    int[] back = new int[window.length];
    part.copyTo(0, back, 0, back.length);
    assertArrayEquals(window, back);
  }

  @Test
  void truncateTrimAndGrowAgain() {
    IntChunks c = new IntChunks();
    c.addAll(IntStream.range(0, IntChunks.CHUNK + 10).toArray());
    c.truncate(IntChunks.CHUNK + 5);
    c.trim();
    c.addAll(new int[] {-1, -2, -3});
    assertEquals(IntChunks.CHUNK + 8, c.size());
    assertEquals(IntChunks.CHUNK + 4, c.get(IntChunks.CHUNK + 4));
    assertEquals(-3, c.get(IntChunks.CHUNK + 7));
    assertThrows(IndexOutOfBoundsException.class, () -> c.truncate(IntChunks.CHUNK * 3));
    IntChunks empty = new IntChunks();
    empty.trim();
    empty.add(9);
    assertEquals(9, empty.get(0));
  }
}
