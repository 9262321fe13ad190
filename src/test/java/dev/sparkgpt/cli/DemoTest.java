package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.io.CheckpointStore;
import dev.sparkgpt.io.JsonFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quick demo end to end: every stage's output exists, is complete and agrees with the others. */
class DemoTest extends SparkTestBase {
  @Test
  void quickDemoProducesConsistentOutputs(@TempDir Path dir) throws Exception {
    dev.sparkgpt.jobs.PipelineJob.Outputs out = DemoCommand.run(spark, dir, true, 0);

    Manifest m = out.shards();
    assertTrue(Files.exists(dir.resolve("shards/_SUCCESS")));
    assertEquals(m.totalTokens(), m.splits().get("train").tokens() + m.splits().get("val").tokens());
    for (Manifest.SplitInfo split : m.splits().values()) {
      assertEquals(split.rows(), split.shards().stream().mapToLong(Manifest.ShardFile::rows).sum());
      for (Manifest.ShardFile f : split.shards()) {
        assertEquals(f.bytes(), Files.size(dir.resolve("shards").resolve(f.path())));
      }
    }

    assertEquals(30, out.training().step());
    List<String> lines = Files.readAllLines(dir.resolve("pretrain/metrics.jsonl"));
    long previousStep = 0;
    long previousTokens = 0;
    for (String line : lines) {
      JsonNode l = JsonFiles.MAPPER.readTree(line);
      assertTrue(l.get("step").asLong() > previousStep && l.get("tokens_seen").asLong() > previousTokens, line);
      previousStep = l.get("step").asLong();
      previousTokens = l.get("tokens_seen").asLong();
    }
    assertEquals(30, previousStep);
    assertEquals(out.training().tokensSeen(), previousTokens);
    assertEquals("step-000030", Files.readString(dir.resolve("pretrain/latest")).trim());
    assertTrue(Files.exists(dir.resolve("pretrain/step-000030").resolve(CheckpointStore.WEIGHTS)));

    JsonNode report = JsonFiles.MAPPER.readTree(Files.readString(dir.resolve("pretrain/eval/report.json")));
    assertEquals(20, report.at("/tasks/copa/n").asInt());
    JsonNode ppl = report.path("perplexity").elements().next();
    assertTrue(ppl.path("tokens").asLong() > 0);
    assertEquals(Math.exp(ppl.path("mean_nll").asDouble()), ppl.path("perplexity").asDouble(), 1e-6);
    assertEquals(out.report().tasks().keySet(), java.util.Set.of("copa"));
    String html = Files.readString(dir.resolve("pretrain/report/report.html"));
    assertTrue(html.contains("loss.png") && Files.size(dir.resolve("pretrain/report/loss.png")) > 1000, html);
  }
}
