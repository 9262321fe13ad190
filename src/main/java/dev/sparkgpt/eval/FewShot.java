package dev.sparkgpt.eval;

import dev.sparkgpt.config.ConfigException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Few-shot examples for the items of a task, drawn from the same task (as the harness does for tasks without a
 * separate few-shot split). An item never sees itself, nor any item with the same solved text (a duplicate line
 * would give the answer away). The draw depends only on (seed, item position, the task's items), so it is the same
 * on every run, on the driver or in any partition.
 */
public final class FewShot {
  private final List<Task.Item> pool;
  private final int shots;
  private final long seed;
  private final Map<String, Integer> copies = new HashMap<>();

  /** Examples for items of {@code task}, {@code shots} each, drawn with {@code seed}. */
  public FewShot(Task task, int shots, long seed) {
    if (shots < 0) {
      throw new ConfigException("num_fewshot", "must be ≥ 0, got " + shots, "e.g. --num-fewshot 5");
    }
    this.pool = task.items();
    this.shots = shots;
    this.seed = seed;
    for (Task.Item item : pool) {
      copies.merge(item.solved(), 1, Integer::sum);
    }
    if (shots > 0) {
      int fewest = copies.values().stream().mapToInt(c -> pool.size() - c).min().orElse(0);
      if (fewest < shots) {
        throw new ConfigException("num_fewshot", shots + " examples wanted, but task " + task.name() + " ("
            + task.path() + ") has only " + fewest + " other items for some of its items",
            "use --num-fewshot " + fewest + " or fewer");
      }
    }
  }

  /** Positions (in the task) of the examples for the item at {@code index}, in the order they are shown. */
  public int[] pick(int index) {
    int[] picked = new int[shots];
    if (shots == 0) {
      return picked;
    }
    String own = pool.get(index).solved();
    SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
    int found = 0;
    while (found < shots) {
      int candidate = random.nextInt(pool.size());
      if (candidate == index || pool.get(candidate).solved().equals(own) || contains(picked, found, candidate)) {
        continue;
      }
      picked[found++] = candidate;
    }
    return picked;
  }

  /** The text before the item at {@code index}: each example's solved text followed by the delimiter; "" at 0-shot. */
  public String prefix(int index) {
    StringBuilder sb = new StringBuilder();
    for (int p : pick(index)) {
      sb.append(pool.get(p).solved()).append(Prompts.FEWSHOT_DELIMITER);
    }
    return sb.toString();
  }

  public int shots() {
    return shots;
  }

  private static boolean contains(int[] values, int count, int value) {
    for (int i = 0; i < count; i++) {
      if (values[i] == value) {
        return true;
      }
    }
    return false;
  }
}
