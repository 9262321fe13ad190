package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskFilesTest {
  private static Task read(Path file) {
    return TaskFiles.read(file.toString(), HadoopConf.create());
  }

  private static String failure(Path dir, String name, String content) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, content);
    return assertThrows(TaskFormatException.class, () -> read(file)).getMessage();
  }

  private static void assertStarts(String expected, String message) {
    assertTrue(message.startsWith(expected), message);
  }

  @Test
  void readsEveryBundledTask() {
    int[][] expected = {{2376, 0}, {100, 1}, {4, 3}, {4, 1}, {100, 2}, {500, 1}}; // items, gold of the first
    String[] names = {"arc_easy", "copa", "hellaswag_small", "mmlu_small", "mmlu_full_cs", "openbook_qa"};
    for (int i = 0; i < names.length; i++) {
      Task task = read(Path.of("src/main/resources/data/eval/" + names[i] + ".jsonl"));
      assertEquals(names[i], task.name());
      assertEquals(Task.Kind.MULTIPLE_CHOICE, task.kind());
      assertEquals(expected[i][0], task.items().size(), names[i]);
      assertEquals(expected[i][1], ((Task.Choice) task.items().get(0)).gold(), names[i]);
    }
  }

  @Test
  void readsLastWordItemsSplittingAtTheLastSpace(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("lambada_tiny.jsonl");
    Files.writeString(file, "{\"text\": \"the cat sat on the mat\"}\n\n{\"text\": \"he said yes \\n\"}\n");
    Task task = read(file);
    assertEquals("lambada_tiny", task.name());
    assertEquals(Task.Kind.LAST_WORD, task.kind());
    assertEquals(List.of(new Task.LastWord(1, "the cat sat on the", "mat"), new Task.LastWord(3, "he said", "yes")),
        task.items());
  }

  @Test
  void malformedLineNamesFileAndLine(@TempDir Path dir) throws IOException {
    String m = failure(dir, "bad.jsonl",
        "{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": 0}\n\n{\"query\": \"q\",\n");
    assertStarts(dir.resolve("bad.jsonl") + ":3: malformed JSON", m);
    assertStarts(dir.resolve("two.jsonl") + ":1: malformed JSON",
        failure(dir, "two.jsonl", "{\"text\": \"a b\"} {\"text\": \"c d\"}\n"));
  }

  @Test
  void goldOutOfRangeNamesFileAndLine(@TempDir Path dir) throws IOException {
    String m = failure(dir, "gold.jsonl", "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 1}\n"
        + "{\"query\": \"q\", \"choices\": [\"a\", \"b\", \"c\", \"d\"], \"gold\": 4}\n");
    assertEquals(dir.resolve("gold.jsonl") + ":2: gold index 4 is out of range for 4 choices (0..3)", m);
    assertStarts(dir.resolve("neg.jsonl") + ":1: gold index -1 is out of range",
        failure(dir, "neg.jsonl", "{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": -1}\n"));
    assertStarts(dir.resolve("text.jsonl") + ":1: \"gold\" must be the index of the right choice, found \"1\"",
        failure(dir, "text.jsonl", "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": \"1\"}\n"));
  }

  @Test
  void emptyChoicesAreRefused(@TempDir Path dir) throws IOException {
    assertEquals(dir.resolve("empty.jsonl") + ":1: \"choices\" is empty. Fix: give at least one choice",
        failure(dir, "empty.jsonl", "{\"query\": \"q\", \"choices\": [], \"gold\": 0}\n"));
    assertStarts(dir.resolve("blank.jsonl") + ":1: choices[1] must be a non-empty string, found \"\"",
        failure(dir, "blank.jsonl", "{\"query\": \"q\", \"choices\": [\"a\", \"\"], \"gold\": 0}\n"));
  }

  @Test
  void missingTaskFileIsNamed(@TempDir Path dir) {
    String missing = dir.resolve("nope.jsonl").toString();
    var e = assertThrows(InputException.class, () -> TaskFiles.read(missing, HadoopConf.create()));
    assertStarts(missing + ": task file not found", e.getMessage());
  }

  @Test
  void unknownExtensionIsRefusedBeforeReading(@TempDir Path dir) {
    String csv = dir.resolve("arc.csv").toString(); // need not exist: the name alone is wrong
    var e = assertThrows(TaskFormatException.class, () -> TaskFiles.read(csv, HadoopConf.create()));
    assertStarts(csv + ": unknown task file extension '.csv', expected .jsonl", e.getMessage());
  }

  @Test
  void mixedKindsOrUnknownShapesAreRefused(@TempDir Path dir) throws IOException {
    assertStarts(dir.resolve("mixed.jsonl") + ":2: a {text} item in a file of {query, choices, gold} items (line 1)",
        failure(dir, "mixed.jsonl", "{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": 0}\n{\"text\": \"a b\"}\n"));
    assertStarts(dir.resolve("shape.jsonl") + ":1: expected {\"query\",\"choices\",\"gold\"}, {\"text\"} or "
        + "{\"contexts\",\"continuation\",\"gold\"}, found keys [question, answer]", failure(dir, "shape.jsonl", "{\"question\": \"q\", \"answer\": 1}\n"));
    assertStarts(dir.resolve("word.jsonl") + ":1: \"text\" needs words before its last word",
        failure(dir, "word.jsonl", "{\"text\": \"lonely\"}\n"));
    assertEquals(dir.resolve("none.jsonl") + ": no items. Fix: one JSON object a line",
        failure(dir, "none.jsonl", "\n\n"));
  }

  @Test
  void partialScoringItemsNameTheirFieldAndLineWhenBad() {
    Task.Partial p = (Task.Partial) TaskFiles.parse("w.jsonl", 3, "{\"contexts\": [\"A cat\", \"A dog\"], "
        + "\"continuation\": \"barked.\", \"gold\": 1}");
    assertEquals("A dog barked.", p.solved());
    TaskFormatException gold = assertThrows(TaskFormatException.class, () -> TaskFiles.parse("w.jsonl", 3,
        "{\"contexts\": [\"A cat\"], \"continuation\": \"x\", \"gold\": 1}"));
    assertTrue(gold.getMessage().startsWith("w.jsonl:3: \"gold\" must be the index of the right context (0..0)"),
        gold.getMessage());
    TaskFormatException blank = assertThrows(TaskFormatException.class, () -> TaskFiles.parse("w.jsonl", 4,
        "{\"sentence\": \"no blank\", \"option1\": \"a\", \"option2\": \"b\", \"answer\": \"1\"}"));
    assertEquals("w.jsonl:4: \"sentence\" has no \"_\" blank for the options to fill", blank.getMessage());
    TaskFormatException answer = assertThrows(TaskFormatException.class, () -> TaskFiles.parse("w.jsonl", 5,
        "{\"sentence\": \"a _ b\", \"option1\": \"a\", \"option2\": \"b\", \"answer\": \"3\"}"));
    assertTrue(answer.getMessage().startsWith("w.jsonl:5: \"answer\" must be \"1\" or \"2\""), answer.getMessage());
  }
}
