package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.OutputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalReportTest {
  private static EvalReport report() {
    Map<String, TaskResult> tasks = new LinkedHashMap<>();
    tasks.put("arc_easy", new TaskResult(4, 0.75, 0.5, 0.25, 0.2886751345948129, null, 1.25, 0, 16,
        "multiple_choice", "arc_easy.jsonl"));
    tasks.put("lambada", new TaskResult(1, 1.0, null, null, null, 3.5, 0.04, 2, 1, "last_word", "lambada.jsonl"));
    Map<String, PerplexityResult> ppl = new LinkedHashMap<>();
    ppl.put("runs/shards", new PerplexityResult(100, 2.0, Math.exp(2), 1.5, 133, 0.5, "shards", "val",
        "runs/shards"));
    return new EvalReport(tasks, ppl, new CheckpointInfo("runs/x", "step-000010", 10L), Map.of("seed", 1234),
        "2024-05-01T12:00:00Z");
  }

  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void markdownTablesHoldEveryTaskAndSource() {
    assertEquals("""
        | task | n | shots | acc | ± | acc_norm | ± | ppl | s |
        |---|--:|--:|--:|--:|--:|--:|--:|--:|
        | arc_easy | 4 | 0 | 0.7500 | 0.2500 | 0.5000 | 0.2887 | – | 1.3 |
        | lambada | 1 | 2 | 1.0000 | – | – | – | 3.5000 | 0.0 |

        | data | tokens | mean_nll | perplexity | bits_per_byte | s |
        |---|--:|--:|--:|--:|--:|
        | runs/shards (val) | 100 | 2.0000 | 7.3891 | 1.5000 | 0.5 |
        """, report().toMarkdown());
  }

  @Test
  void writesSnakeCaseJsonAndReplacesAnOldReportWithoutLeftovers(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("eval/report.json");
    Files.createDirectories(out.getParent());
    Files.writeString(out, "old");
    report().write(out.toString(), HadoopConf.create());
    assertEquals(List.of("report.json"), listing(out.getParent()), "no temporary file left");
    JsonNode json = JsonFiles.MAPPER.readTree(out.toFile());
    assertEquals(List.of("tasks", "perplexity", "checkpoint", "config", "created_at"), fieldNames(json));
    assertEquals(List.of("n", "acc", "acc_norm", "acc_stderr", "acc_norm_stderr", "seconds", "num_fewshot",
        "requests", "kind", "file"), fieldNames(json.get("tasks").get("arc_easy")));
    assertFalse(json.get("tasks").get("lambada").has("acc_norm"), "absent metrics are left out, not null");
    assertEquals(1.5, json.get("perplexity").get("runs/shards").get("bits_per_byte").asDouble());
    assertEquals(10, json.get("checkpoint").get("step").asInt());
    assertEquals("2024-05-01T12:00:00Z", json.get("created_at").asText());
  }

  @Test
  void aDirectoryInTheWayFailsAndLeavesNothingBehind(@TempDir Path dir) throws IOException {
    Files.createDirectories(dir.resolve("report.json"));
    var e = assertThrows(OutputException.class, () -> report().write(dir.resolve("report.json").toString(),
        HadoopConf.create()));
    assertTrue(e.getMessage().endsWith("report.json: is a directory. Fix: give --out a file name such as "
        + "report.json"), e.getMessage());
    assertEquals(List.of("report.json"), listing(dir));
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
