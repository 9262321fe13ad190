package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FewShotTest {
  private static Task task(int n) {
    List<Task.Item> items = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      items.add(new Task.Choice(i + 1, "q" + i, List.of("a" + i, "b" + i), i % 2));
    }
    return new Task("t", "t.jsonl", Task.Kind.MULTIPLE_CHOICE, items);
  }

  @Test
  void neverPicksTheItemItselfAndPicksDistinctExamples() {
    Task task = task(6);
    FewShot fewShot = new FewShot(task, 5, 1234);
    for (int i = 0; i < 6; i++) {
      int[] picked = fewShot.pick(i);
      Set<Integer> distinct = new HashSet<>();
      for (int p : picked) {
        assertNotEquals(i, p, "item " + i);
        distinct.add(p);
      }
      assertEquals(5, distinct.size(), "item " + i + " gets all 5 others: " + Arrays.toString(picked));
    }
  }

  @Test
  void theDrawIsFixedBySeedAndItemAlone() {
    Task task = task(50);
    FewShot a = new FewShot(task, 3, 1234);
    FewShot b = new FewShot(task, 3, 1234);
    FewShot other = new FewShot(task, 3, 99);
    boolean anyDifferent = false;
    for (int i = 0; i < 50; i++) {
      assertArrayEquals(a.pick(i), b.pick(i));
      anyDifferent |= !Arrays.equals(a.pick(i), other.pick(i));
    }
    assertTrue(anyDifferent, "another seed draws other examples");
    assertArrayEquals(new int[] {42, 15, 45}, a.pick(7), "pinned: a change of the draw changes published numbers");
  }

  @Test
  void formatsExamplesAsQuerySpaceGoldJoinedByBlankLines() {
    Task task = task(50);
    FewShot fewShot = new FewShot(task, 3, 1234);
    // picks 42, 15, 45 (see above); gold = i % 2, so the answers are a42, b15, b45
    assertEquals("q42 a42\n\nq15 b15\n\nq45 b45\n\n", fewShot.prefix(7));
    assertEquals("", new FewShot(task, 0, 1234).prefix(7));
  }

  @Test
  void neverShowsADuplicateOfTheItem() {
    List<Task.Item> items = new ArrayList<>(task(5).items());
    items.add(new Task.Choice(6, "q0", List.of("a0", "other"), 0)); // same solved text as item 0: "q0 a0"
    Task task = new Task("t", "t.jsonl", Task.Kind.MULTIPLE_CHOICE, items);
    FewShot fewShot = new FewShot(task, 4, 1);
    for (int seed = 0; seed < 20; seed++) {
      FewShot seeded = new FewShot(task, 4, seed);
      assertFalse(Arrays.stream(seeded.pick(0)).anyMatch(p -> p == 5), "item 0 never sees its copy");
      assertFalse(Arrays.stream(seeded.pick(5)).anyMatch(p -> p == 0), "the copy never sees item 0");
    }
    assertEquals(4, fewShot.pick(0).length);
    var e = assertThrows(ConfigException.class, () -> new FewShot(task, 5, 1));
    assertTrue(e.getMessage().startsWith("num_fewshot: 5 examples wanted, but task t (t.jsonl) has only 4 other "
        + "items"), e.getMessage());
  }
}
