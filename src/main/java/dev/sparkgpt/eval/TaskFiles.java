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
          Task.Kind itemKind = item instanceof Task.Choice ? Task.Kind.MULTIPLE_CHOICE : Task.Kind.LAST_WORD;
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
    return kind == Task.Kind.MULTIPLE_CHOICE ? "{query, choices, gold}" : "{text}";
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
    if (node.has("query") || node.has("choices") || node.has("gold")) {
      return choice(path, line, node);
    }
    if (node.has("text")) {
      return lastWord(path, line, node);
    }
    throw new TaskFormatException(where(path, line) + ": expected {\"query\",\"choices\",\"gold\"} or {\"text\"}, "
        + "found keys " + fieldNames(node));
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

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "…";
  }
}
