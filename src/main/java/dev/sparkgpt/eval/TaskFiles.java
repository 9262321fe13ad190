package dev.sparkgpt.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparkgpt.io.InputException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads task files: JSONL, one item per line, blank lines skipped; the task is named after the file
 * ({@code arc_easy.jsonl} → {@code arc_easy}). Every line of a file holds the same kind of item:
 *
 * <pre>
 * {"query": "Question: ...", "choices": ["A", "B", ...], "gold": 1}   multiple choice (extra keys ignored)
 * {"text": "... the passage whose last word is predicted"}            last word (LAMBADA)
 * {"contexts": ["... Ann", "... Bob"], "continuation": "...", "gold": 0}  partial scoring (Winogrande)
 * {"sentence": "... _ ...", "option1": "Ann", "option2": "Bob", "answer": "1"}   Winogrande's own rows
 * </pre>
 *
 * A problem is reported with the file and line, and the whole file is refused.
 */
public final class TaskFiles {
  /** The one task file extension. */
  public static final String EXTENSION = ".jsonl";
  private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private TaskFiles() {}

  /** Reads one task file from any Hadoop file system. */
  public static Task read(String path, Configuration conf) {
    String name = new Path(path).getName();
    if (!name.endsWith(EXTENSION)) {
      int dot = name.indexOf('.');
      throw new TaskFormatException(path + ": unknown task file extension "
          + (dot < 0 ? "(none)" : "'" + name.substring(dot) + "'") + ", expected " + EXTENSION
          + ". Fix: write the task as JSONL, one {\"query\",\"choices\",\"gold\"} or {\"text\"} object a line");
    }
    List<Task.Item> items = new ArrayList<>();
    Task.Kind kind = null;
    int kindLine = 0;
    Path file = new Path(path);
    try {
      FileSystem fs = file.getFileSystem(conf);
      if (!fs.exists(file) || fs.getFileStatus(file).isDirectory()) {
        throw new InputException(path + ": task file not found. Fix: pass existing .jsonl files to --tasks, e.g. "
            + "src/main/resources/data/eval/arc_easy.jsonl");
      }
      try (BufferedReader in = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
        String text;
        int line = 0;
        while ((text = in.readLine()) != null) {
          line++;
          if (text.isBlank()) {
            continue;
          }
          Task.Item item = parse(path, line, text);
          Task.Kind itemKind = item instanceof Task.Choice ? Task.Kind.MULTIPLE_CHOICE
              : item instanceof Task.Partial ? Task.Kind.PARTIAL_CHOICE : Task.Kind.LAST_WORD;
          if (kind == null) {
            kind = itemKind;
            kindLine = line;
          } else if (kind != itemKind) {
            throw new TaskFormatException(where(path, line) + ": a " + describe(itemKind) + " item in a file of "
                + describe(kind) + " items (line " + kindLine + "). Fix: put each kind of task in its own file");
          }
          items.add(item);
        }
      }
    } catch (IOException e) {
      throw new InputException(path + ": cannot read: " + e.getMessage(), e);
    }
    if (items.isEmpty()) {
      throw new TaskFormatException(path + ": no items. Fix: one JSON object a line");
    }
    return new Task(name.substring(0, name.length() - EXTENSION.length()), path, kind, items);
  }

  private static String describe(Task.Kind kind) {
    return switch (kind) {
      case MULTIPLE_CHOICE -> "{query, choices, gold}";
      case PARTIAL_CHOICE -> "{contexts, continuation, gold}";
      case LAST_WORD -> "{text}";
    };
  }

  private static String where(String path, int line) {
    return path + ":" + line;
  }

  /** One line as an item; every problem names the file and line. */
  static Task.Item parse(String path, int line, String text) {
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new TaskFormatException(where(path, line) + ": malformed JSON (" + e.getOriginalMessage()
          + "). Fix: one complete JSON object per line", e);
    }
    if (node == null || !node.isObject()) {
      throw new TaskFormatException(where(path, line) + ": expected a JSON object, found "
          + (node == null ? "nothing" : node.getNodeType()));
    }
    if (node.has("contexts") || node.has("continuation")) {
      return partial(path, line, node);
    }
    if (node.has("query") || node.has("choices") || node.has("gold")) {
      return choice(path, line, node);
    }
    if (node.has("text")) {
      return lastWord(path, line, node);
    }
    if (node.has("sentence") && node.has("option1")) {
      return winogrande(path, line, node);
    }
    throw new TaskFormatException(where(path, line) + ": expected {\"query\",\"choices\",\"gold\"}, {\"text\"} or "
        + "{\"contexts\",\"continuation\",\"gold\"}, found keys " + fieldNames(node));
  }

  private static Task.Choice choice(String path, int line, JsonNode node) {
    JsonNode query = node.get("query");
    if (query == null || !query.isTextual()) {
      throw new TaskFormatException(where(path, line) + ": \"query\" must be a string, found "
          + (query == null ? "no query" : query.getNodeType()));
    }
    JsonNode choices = node.get("choices");
    if (choices == null || !choices.isArray()) {
      throw new TaskFormatException(where(path, line) + ": \"choices\" must be a list of strings, found "
          + (choices == null ? "no choices" : choices.getNodeType()));
    }
    if (choices.isEmpty()) {
      throw new TaskFormatException(where(path, line) + ": \"choices\" is empty. Fix: give at least one choice");
    }
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < choices.size(); i++) {
      JsonNode c = choices.get(i);
      if (!c.isTextual() || c.asText().isEmpty()) {
        throw new TaskFormatException(where(path, line) + ": choices[" + i + "] must be a non-empty string, found "
            + (c.isTextual() ? "\"\"" : c.getNodeType()));
      }
      texts.add(c.asText());
    }
    JsonNode gold = node.get("gold");
    if (gold == null || !gold.isIntegralNumber()) {
      throw new TaskFormatException(where(path, line) + ": \"gold\" must be the index of the right choice, found "
          + (gold == null ? "no gold" : gold.toString()));
    }
    if (!gold.canConvertToInt() || gold.asInt() < 0 || gold.asInt() >= texts.size()) {
      throw new TaskFormatException(where(path, line) + ": gold index " + gold + " is out of range for "
          + texts.size() + " choices (0.." + (texts.size() - 1) + ")");
    }
    return new Task.Choice(line, query.asText(), texts, gold.asInt());
  }

  /** The text up to its last space is the context; the rest (trailing whitespace dropped) the word to predict. */
  private static Task.LastWord lastWord(String path, int line, JsonNode node) {
    JsonNode text = node.get("text");
    if (!text.isTextual()) {
      throw new TaskFormatException(where(path, line) + ": \"text\" must be a string, found " + text.getNodeType());
    }
    String passage = text.asText().stripTrailing();
    int space = passage.lastIndexOf(' ');
    if (space <= 0) {
      throw new TaskFormatException(where(path, line) + ": \"text\" needs words before its last word, separated by"
          + " a space; found \"" + abbreviate(passage) + "\"");
    }
    return new Task.LastWord(line, passage.substring(0, space), passage.substring(space + 1));
  }

  private static Task.Partial partial(String path, int line, JsonNode node) {
    List<String> contexts = strings(path, line, node, "contexts");
    String continuation = text(path, line, node, "continuation");
    JsonNode gold = node.get("gold");
    if (gold == null || !gold.isIntegralNumber() || !gold.canConvertToInt() || gold.asInt() < 0
        || gold.asInt() >= contexts.size()) {
      throw new TaskFormatException(where(path, line) + ": \"gold\" must be the index of the right context (0.."
          + (contexts.size() - 1) + "), found " + (gold == null ? "no gold" : gold.toString()));
    }
    return new Task.Partial(line, contexts, continuation, gold.asInt());
  }

  /** Winogrande's row, split at its blank as lm-eval does: context = text before "_" + option, the rest shared. */
  private static Task.Partial winogrande(String path, int line, JsonNode node) {
    String sentence = text(path, line, node, "sentence");
    int blank = sentence.indexOf('_');
    if (blank < 0) {
      throw new TaskFormatException(where(path, line) + ": \"sentence\" has no \"_\" blank for the options to fill");
    }
    String option1 = text(path, line, node, "option1");
    String option2 = text(path, line, node, "option2");
    JsonNode answer = node.get("answer");
    if (answer == null || !List.of("1", "2").contains(answer.asText())) {
      throw new TaskFormatException(where(path, line) + ": \"answer\" must be \"1\" or \"2\", found "
          + (answer == null ? "no answer" : answer.toString()));
    }
    String continuation = sentence.substring(blank + 1).strip();
    if (continuation.isEmpty()) {
      throw new TaskFormatException(where(path, line) + ": \"sentence\" has nothing after its blank to score");
    }
    String before = sentence.substring(0, blank);
    return new Task.Partial(line, List.of(before + option1, before + option2), continuation,
        Integer.parseInt(answer.asText()) - 1);
  }

  private static String text(String path, int line, JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || !v.isTextual() || v.asText().isEmpty()) {
      throw new TaskFormatException(where(path, line) + ": \"" + field + "\" must be a non-empty string, found "
          + (v == null ? "no " + field : v.isTextual() ? "\"\"" : v.getNodeType()));
    }
    return v.asText();
  }

  private static List<String> strings(String path, int line, JsonNode node, String field) {
    JsonNode list = node.get(field);
    if (list == null || !list.isArray() || list.isEmpty()) {
      throw new TaskFormatException(where(path, line) + ": \"" + field + "\" must be a non-empty list of strings, "
          + "found " + (list == null ? "no " + field : list.getNodeType()));
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      if (!list.get(i).isTextual() || list.get(i).asText().isEmpty()) {
        throw new TaskFormatException(where(path, line) + ": " + field + "[" + i + "] must be a non-empty string, "
            + "found " + list.get(i).getNodeType());
      }
      out.add(list.get(i).asText());
    }
    return out;
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "…";
  }
}
