package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparkgpt.io.HadoopConf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointInfoTest {
  @Test
  void followsLatestToTheStepDirectoryAndReadsItsStep(@TempDir Path run) throws IOException {
    Files.createDirectories(run.resolve("step-000120"));
    Files.writeString(run.resolve("step-000120/state.json"), "{\"format_version\": 1, \"step\": 120}");
    Files.createDirectories(run.resolve("step-000100"));
    Files.writeString(run.resolve("step-000100/state.json"), "{\"format_version\": 1, \"step\": 100}");
    Files.writeString(run.resolve("latest"), "step-000120\n");
    assertEquals(new CheckpointInfo(run.toString(), "step-000120", 120L),
        CheckpointInfo.describe(run.toString(), HadoopConf.create()));
    String step = run.resolve("step-000100").toString();
    assertEquals(new CheckpointInfo(step, "step-000100", 100L), CheckpointInfo.describe(step, HadoopConf.create()));
    // one name per checkpoint directory, whether the run or the step was given: two runs' steps stay apart
    assertEquals(run + "/step-000120", CheckpointInfo.describe(run + "/", HadoopConf.create()).label());
    assertEquals(step, CheckpointInfo.describe(step, HadoopConf.create()).label());
    assertEquals("elsewhere/step-000120", new CheckpointInfo("elsewhere", "step-000120", 120L).label());
  }

  @Test
  void anythingElseIsDescribedByItsPathAlone(@TempDir Path dir) {
    assertEquals(new CheckpointInfo(null, null, null), CheckpointInfo.describe(null, HadoopConf.create()));
    String none = dir.resolve("not-a-run").toString();
    assertEquals(new CheckpointInfo(none, null, null), CheckpointInfo.describe(none, HadoopConf.create()));
    assertEquals(none, CheckpointInfo.describe(none, HadoopConf.create()).label());
    assertEquals(null, CheckpointInfo.describe(null, HadoopConf.create()).label());
  }
}
