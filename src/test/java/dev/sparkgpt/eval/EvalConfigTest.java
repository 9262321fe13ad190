package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.EvalConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class EvalConfigTest {
  private static List<Path> confFiles() throws IOException {
    try (Stream<Path> files = Files.list(Path.of("conf/eval"))) {
      return files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
    }
  }

  @Test
  void everyConfEvalYamlLoadsValidatesAndSetsEveryKey() throws IOException {
    List<Path> files = confFiles();
    assertEquals(List.of("benchmarks.yaml", "mmlu.yaml", "smoke.yaml"),
        files.stream().map(f -> f.getFileName().toString()).toList());
    TreeSet<String> allKeys = new TreeSet<>();
    ConfigLoader.yamlMapper().valueToTree(EvalConfig.defaults()).fieldNames().forEachRemaining(allKeys::add);
    for (Path file : files) {
      EvalConfig config = ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), file, List.of(), null);
      assertEquals(List.of(), config.problems(false), file.toString());
      ObjectNode yaml = ConfigLoader.readYaml(file);
      TreeSet<String> keys = new TreeSet<>();
      yaml.fieldNames().forEachRemaining(keys::add);
      assertEquals(allKeys, keys, file + " sets every key");
      for (String task : config.tasks()) {
        assertTrue(Files.exists(Path.of(task)), file + ": " + task);
        TaskFiles.read(task, dev.sparkgpt.io.HadoopConf.create());
      }
    }
    EvalConfig mmlu = ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), Path.of("conf/eval/mmlu.yaml"),
        List.of("checkpoint=runs/x"), null);
    assertEquals(5, mmlu.numFewshot());
    assertEquals(List.of("src/main/resources/data/eval/mmlu_full_cs.jsonl"), mmlu.tasks());
    assertEquals("runs/x", mmlu.checkpoint());
    assertEquals(List.of(), mmlu.problems(true));
  }

  @Test
  void reportsEveryProblemAtOnce() {
    EvalConfig bad = ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), null,
        List.of("num_fewshot=-1", "batch_size=0", "limit=0", "perplexity_split=test"), null);
    var e = assertThrows(ConfigException.class, () -> bad.validate(true));
    List<String> expected = new ArrayList<>(List.of("checkpoint: no checkpoint given", "tasks, classification, perplexity: nothing",
        "num_fewshot: must be ≥ 0, got -1", "limit: must be ≥ 1, or -1", "perplexity_split: 'test'",
        "batch_size: must be ≥ 1, got 0", "out: no report path given"));
    for (String fragment : expected) {
      assertTrue(e.getMessage().contains(fragment), fragment + " in " + e.getMessage());
    }
  }

  @Test
  void twoTaskFilesWithOneNameAreRefused() {
    EvalConfig config = ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), null, List.of("out=r.json"),
        Map.of("tasks", List.of("a/arc.jsonl", "b/arc.jsonl")), null);
    assertEquals(List.of("tasks: two files give the task name 'arc'. Fix: rename one"), config.problems(false));
    assertFalse(config.problems(true).isEmpty());
  }

  @Test
  void unknownKeysAreRejectedByName() {
    var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), null,
        List.of("num_shots=5"), null));
    assertTrue(e.getMessage().startsWith("num_shots: unknown key"), e.getMessage());
  }
}
