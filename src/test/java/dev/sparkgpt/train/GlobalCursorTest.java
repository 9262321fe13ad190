package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.data.WindowSource;
import dev.sparkgpt.io.JsonFiles;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GlobalCursorTest {
  /** 100 windows of 4 tokens, in blocks of 7 (the last one 2). */
  private static final WindowSource SOURCE = new BlockSource(TrainingWindows.fromStream(new int[401], 4, 4), 7);

  /** Takes {@code rounds} rounds of {@code perLane} windows per lane, recording (epoch, block, index) taken. */
  private static void take(GlobalCursor c, int rounds, int perLane, List<String> seen) {
    for (int r = 0; r < rounds; r++) {
      for (int lane = 0; lane < c.lanes(); lane++) {
        for (GlobalCursor.Segment s : c.take(lane, perLane)) {
          for (int i = s.from(); i < s.to(); i++) {
            seen.add(s.epoch() + "/" + s.block() + "/" + i);
          }
        }
      }
    }
  }

  private static JsonNode saved(GlobalCursor c) {
    return JsonFiles.MAPPER.valueToTree(c.state());
  }

  private static Set<String> epochs(int n) {
    Set<String> all = new HashSet<>();
    for (int e = 0; e < n; e++) {
      for (int b = 0; b < SOURCE.blocks(); b++) {
        for (int i = 0; i < SOURCE.windows(b); i++) {
          all.add(e + "/" + b + "/" + i);
        }
      }
    }
    return all;
  }

  @Test
  void twoWorkersThenOneReadEveryWindowOfTwoEpochsExactlyOnce() {
    List<String> seen = new ArrayList<>();
    GlobalCursor two = new GlobalCursor(SOURCE, 5, true, 2);
    take(two, 6, 5, seen); // 60 windows; both lanes hold half-read blocks now
    GlobalCursor one = new GlobalCursor(SOURCE, 5, true, 1);
    assertNull(one.restore(saved(two)));
    take(one, 1, 200 - 60, seen);
    assertEquals(200, seen.size());
    assertEquals(200, new HashSet<>(seen).size(), "no window twice");
    assertEquals(epochs(2), new HashSet<>(seen), "none skipped");
    assertEquals(2, one.epoch());
  }

  @Test
  void oneWorkerThenTwoAndThreeReadEveryWindowOnce() {
    List<String> seen = new ArrayList<>();
    GlobalCursor one = new GlobalCursor(SOURCE, 9, true, 1);
    take(one, 3, 11, seen);
    GlobalCursor two = new GlobalCursor(SOURCE, 9, true, 2);
    two.restore(saved(one));
    take(two, 4, 6, seen);
    GlobalCursor three = new GlobalCursor(SOURCE, 9, true, 3);
    three.restore(saved(two));
    take(three, 5, 4, seen);
    assertEquals(33 + 48 + 60, seen.size());
    assertEquals(seen.size(), new HashSet<>(seen).size(), "no window twice");
    Set<String> epoch0 = epochs(1);
    assertTrue(new HashSet<>(seen).containsAll(epoch0), "epoch 0 complete after 141 windows with 3 open blocks");
    // what is left of the open blocks plus what was seen is every window of the blocks opened so far
    JsonNode s = saved(three);
    int left = 0;
    for (JsonNode lane : s.path("lanes")) {
      left += lane.isNull() ? 0 : SOURCE.windows(lane.get(1).asInt()) - lane.get(2).asInt();
    }
    assertEquals(0, s.path("pending").size());
    long opened = s.path("next_epoch").asLong() * 100;
    int[] order = three.blockOrder(s.path("next_epoch").asLong());
    for (int i = 0; i < s.path("next_index").asInt(); i++) {
      opened += SOURCE.windows(order[i]);
    }
    assertEquals(opened, seen.size() + left);
  }

  @Test
  void oneBlockKeepsTheOrderAnInMemoryCursorAlwaysHad() {
    TrainingWindows w = TrainingWindows.fromStream(new int[81], 4, 4);
    GlobalCursor c = new GlobalCursor(WindowSource.inMemory(w), 42, true, 1);
    List<Integer> taken = new ArrayList<>();
    for (int e = 0; e < 2; e++) {
      for (GlobalCursor.Segment s : c.take(0, w.size())) {
        int[] order = GlobalCursor.windowOrder(42, s.epoch(), s.block(), w.size(), true);
        for (int i = s.from(); i < s.to(); i++) {
          taken.add(order[i]);
        }
      }
    }
    List<Integer> expected = new ArrayList<>();
    for (int e = 0; e < 2; e++) {
      for (int i : w.order(42, e, true)) {
        expected.add(i);
      }
    }
    assertEquals(expected, taken);
    // a checkpoint of the single-cursor release ({epoch, position}) resumes exactly
    GlobalCursor legacy = new GlobalCursor(WindowSource.inMemory(w), 42, true, 1);
    assertNull(legacy.restore(JsonFiles.MAPPER.valueToTree(java.util.Map.of("epoch", 1, "position", 5))));
    GlobalCursor.Segment next = legacy.take(0, 1).get(0);
    assertEquals(new GlobalCursor.Segment(1, 0, 5, 6), next);
  }

  @Test
  void aChangedCorpusStartsTheNextEpochAndSaysSo() {
    GlobalCursor c = new GlobalCursor(SOURCE, 1, true, 1);
    c.take(0, 30);
    GlobalCursor other = new GlobalCursor(new BlockSource(TrainingWindows.fromStream(new int[201], 4, 4), 7), 1,
        true, 1);
    String warning = other.restore(saved(c));
    assertNotNull(warning);
    assertTrue(warning.contains("start of epoch 1"), warning);
    assertEquals(1, other.take(0, 1).get(0).epoch());
  }
}
