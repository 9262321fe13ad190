package dev.sparkgpt.eval;

import java.util.List;

/**
 * One evaluation task read from a file: its name (the file name without extension), the file, and its items, all
 * of one kind. See {@link TaskFiles} for the formats.
 */
public record Task(String name, String path, Kind kind, List<Item> items) {
  /** What a task's items ask of the model. */
  public enum Kind {
    /** {@code {"query","choices","gold"}}: pick the choice with the highest log-likelihood. */
    MULTIPLE_CHOICE,
    /** {@code {"text"}}: predict the text's last word greedily (LAMBADA). */
    LAST_WORD,
    /**
     * {@code {"contexts","continuation","gold"}} (or Winogrande's {@code {"sentence","option1","option2","answer"}}):
     * partial scoring, the one continuation after each context; the most likely is gold.
     */
    PARTIAL_CHOICE
  }

  /** One item of a task; {@code line} is its 1-based line in the file. */
  public sealed interface Item permits Choice, LastWord, Partial {
    int line();

    /** The item with its answer, as it appears as a few-shot example. */
    String solved();
  }

  /** A multiple-choice item: {@code choices.get(gold)} is the right continuation of {@code query}. */
  public record Choice(int line, String query, List<String> choices, int gold) implements Item {
    public Choice {
      choices = List.copyOf(choices);
    }

    @Override
    public String solved() {
      return query + Prompts.TARGET_DELIMITER + choices.get(gold);
    }
  }

  /** A last-word item: {@code context + " " + word} is the text; the word must be predicted. */
  public record LastWord(int line, String context, String word) implements Item {
    @Override
    public String solved() {
      return context + Prompts.TARGET_DELIMITER + word;
    }
  }

  /**
   * A partial-scoring item (lm-eval's Winogrande): {@code contexts.get(gold) + " " + continuation} is the right
   * text; each context is scored by how likely the shared continuation is after it.
   */
  public record Partial(int line, List<String> contexts, String continuation, int gold) implements Item {
    public Partial {
      contexts = List.copyOf(contexts);
    }

    @Override
    public String solved() {
      return contexts.get(gold) + Prompts.TARGET_DELIMITER + continuation;
    }
  }

  public Task {
    items = List.copyOf(items);
  }

  /** The first {@code limit} items ({@code limit} < 0: all). */
  public List<Item> evaluated(int limit) {
    return limit < 0 || limit >= items.size() ? items : items.subList(0, limit);
  }
}
