package dev.sparkgpt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BlockPackerTest {
  private static final int PAD = 50256;

  /** Packs pieces the way the job does (fragments per piece, assembled per row) and returns each split's rows. */
  private static List<List<BlockPacker.Row>> pack(Map<BlockPacker.PieceKey, int[]> pieces, Map<Long, Integer> splitOfDoc,
      boolean byTokens, double valFraction, int seqLen) {
    List<BlockPacker.PieceCount> counts = new ArrayList<>();
    pieces.forEach((k, ids) -> counts.add(new BlockPacker.PieceCount(k, splitOfDoc.getOrDefault(k.docId(), 0),
        ids.length)));
    BlockPacker.Placement placement = BlockPacker.place(counts, byTokens, valFraction);
    List<List<BlockPacker.Row>> out = new ArrayList<>();
    for (int split = 0; split < 2; split++) {
      Map<Long, List<BlockPacker.Fragment>> byRow = new java.util.TreeMap<>();
      for (var e : pieces.entrySet()) {
        List<BlockPacker.Segment> segs = new ArrayList<>();
        for (BlockPacker.Segment s : placement.segments().get(e.getKey())) {
          if (s.split() == split) {
            segs.add(s);
          }
        }
        for (BlockPacker.Fragment f : BlockPacker.fragments(e.getValue(), e.getKey().docId(), segs, seqLen,
            placement.splitTokens())) {
          byRow.computeIfAbsent(f.row(), r -> new ArrayList<>()).add(f);
        }
      }
      List<BlockPacker.Row> rows = new ArrayList<>();
      long total = placement.splitTokens()[split];
      byRow.forEach((row, frags) -> rows.add(BlockPacker.assemble(row, frags, seqLen, total, PAD)));
      assertEquals(BlockPacker.rowCount(total, seqLen), rows.size(), "rows of split " + split);
      out.add(rows);
    }
    return out;
  }

  private static int[] range(int from, int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = from + i;
    }
    return a;
  }

  @Test
  void rowsOverlapByOneTokenSoEveryPairAppearsOnce() {
    Map<BlockPacker.PieceKey, int[]> pieces = new HashMap<>();
    pieces.put(new BlockPacker.PieceKey(0, 0), range(0, 5));
    pieces.put(new BlockPacker.PieceKey(0, 1), range(5, 6)); // stream 0..10, 11 tokens
    List<BlockPacker.Row> rows = pack(pieces, Map.of(), false, 0, 4).get(0);
    assertEquals(3, rows.size());
    assertArrayEquals(new int[] {0, 1, 2, 3, 4}, rows.get(0).tokens());
    assertArrayEquals(new int[] {4, 5, 6, 7, 8}, rows.get(1).tokens());
    assertArrayEquals(new int[] {8, 9, 10, PAD, PAD}, rows.get(2).tokens());
    assertEquals(5, rows.get(0).length());
    assertEquals(3, rows.get(2).length());
    assertEquals(8, rows.get(2).offset());
  }

  @Test
  void exactFitLeavesNoPaddedRow() {
    Map<BlockPacker.PieceKey, int[]> pieces = Map.of(new BlockPacker.PieceKey(0, 0), range(100, 9)); // 9 = 2*4+1
    List<BlockPacker.Row> rows = pack(pieces, Map.of(), false, 0, 4).get(0);
    assertEquals(2, rows.size());
    assertEquals(5, rows.get(1).length());
    assertArrayEquals(new int[] {104, 105, 106, 107, 108}, rows.get(1).tokens());
  }

  @Test
  void streamFollowsDocumentOrderWhateverTheInputOrder() {
    Map<BlockPacker.PieceKey, int[]> pieces = new java.util.LinkedHashMap<>();
    pieces.put(new BlockPacker.PieceKey(7L << 32, 0), new int[] {70, 71});
    pieces.put(new BlockPacker.PieceKey(1, 1), new int[] {12});
    pieces.put(new BlockPacker.PieceKey(1, 0), new int[] {10, 11});
    List<BlockPacker.Row> rows = pack(pieces, Map.of(), false, 0, 10).get(0);
    assertArrayEquals(new int[] {10, 11, 12, 70, 71, PAD, PAD, PAD, PAD, PAD, PAD}, rows.get(0).tokens());
    assertEquals(1, rows.get(0).docId());
  }

  @Test
  void documentSplitKeepsEachDocumentInItsSplit() {
    Map<BlockPacker.PieceKey, int[]> pieces = new HashMap<>();
    pieces.put(new BlockPacker.PieceKey(0, 0), range(0, 3));
    pieces.put(new BlockPacker.PieceKey(1, 0), range(10, 3));
    pieces.put(new BlockPacker.PieceKey(2, 0), range(20, 3));
    List<List<BlockPacker.Row>> rows = pack(pieces, Map.of(1L, 1), false, 0, 8);
    assertArrayEquals(new int[] {0, 1, 2, 20, 21, 22, PAD, PAD, PAD}, rows.get(0).get(0).tokens());
    assertArrayEquals(new int[] {10, 11, 12, PAD, PAD, PAD, PAD, PAD, PAD}, rows.get(1).get(0).tokens());
  }

  @Test
  void tokenHoldoutSplitsTheStreamAtTheFraction() {
    Map<BlockPacker.PieceKey, int[]> pieces = new HashMap<>();
    pieces.put(new BlockPacker.PieceKey(0, 0), range(0, 6));
    pieces.put(new BlockPacker.PieceKey(0, 1), range(6, 4)); // 10 tokens, val = last 2
    List<List<BlockPacker.Row>> rows = pack(pieces, Map.of(), true, 0.2, 3);
    assertEquals(3, rows.get(0).size()); // 8 train tokens: [0..3] [3..6] [6,7]
    assertArrayEquals(new int[] {6, 7, PAD, PAD}, rows.get(0).get(2).tokens());
    assertEquals(1, rows.get(1).size());
    assertArrayEquals(new int[] {8, 9, PAD, PAD}, rows.get(1).get(0).tokens());
    assertEquals(0, rows.get(1).get(0).offset());
  }

  @Test
  void randomLayoutsReproduceTheStreamExactly() {
    Random random = new Random(42);
    for (int trial = 0; trial < 200; trial++) {
      int seqLen = 1 + random.nextInt(9);
      Map<BlockPacker.PieceKey, int[]> pieces = new HashMap<>();
      List<Integer> stream = new ArrayList<>();
      int next = 0;
      int docs = 1 + random.nextInt(4);
      for (int d = 0; d < docs; d++) {
        int n = 1 + random.nextInt(4);
        for (int p = 0; p < n; p++) {
          int[] ids = range(next, 1 + random.nextInt(12));
          next += ids.length;
          pieces.put(new BlockPacker.PieceKey(d, p), ids);
          for (int id : ids) {
            stream.add(id);
          }
        }
      }
      List<BlockPacker.Row> rows = pack(pieces, Map.of(), false, 0, seqLen).get(0);
      for (BlockPacker.Row row : rows) {
        for (int i = 0; i < row.length(); i++) {
          assertEquals(stream.get((int) row.offset() + i), row.tokens()[i], "trial " + trial);
        }
      }
      // every pair (i, i+1) of the stream appears exactly once as (row[j], row[j+1]) within real tokens
      long pairs = rows.stream().mapToLong(r -> r.length() - 1).sum();
      assertEquals(stream.size() - 1, pairs, "trial " + trial);
    }
  }
}
