package dev.sparkgpt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SummaryTest {
  private static Summary.Row row(String label, String value) {
    return new Summary.Row(label, value);
  }

  @Test
  void summarisesTrainingFinetuneEvalAndConfusion(@TempDir Path tmp) throws IOException {
    Summary s = Summary.of(RunMetrics.load(RunFixtures.fullRun(tmp)));
    assertEquals(List.of(
        row("steps", "400"),
        row("tokens seen", "204,800"),
        row("final train loss", "2.5000 (step 400)"),
        row("best train loss", "2.5000 (step 400)"),
        row("final val loss", "2.6000 (step 400)"),
        row("best val loss", "2.3450 (step 200)"),
        row("mean tokens/s", "2,500"),
        row("mean MFU", "25.00%"),
        row("elapsed", "205 s (0:03:25)"),
        row("workers", "2"),
        row("rounds logged", "4"),
        row("mean ms per round", "compute 115.0 | broadcast 6.5 | averaging 13.0"),
        row("epochs", "3"),
        row("final train acc", "0.9000 (epoch 3)"),
        row("final val acc", "0.8000 (epoch 3)"),
        row("final test acc", "0.8250 (epoch 3)"),
        row("best val acc", "0.8500 (epoch 2)"),
        row("eval acc hellaswag", "0.3125 (step 400), n=100"),
        row("eval acc arc_easy", "0.4600 (step 400), n=50"),
        row("eval perplexity shards", "30.250, 1.5000 bits/byte (step 400), 4,096 tokens"),
        row("eval perplexity extra.txt", "55.000 (step 400), 100 tokens"),
        row("confusion accuracy", "0.9250 (185 of 200)"),
        row("metrics lines", "9")), s.rows());
  }

  @Test
  void aFinetuneRunTakesItsLossesFromEpochs(@TempDir Path tmp) throws IOException {
    Summary s = Summary.of(RunMetrics.load(RunFixtures.metricsOnly(tmp, RunFixtures.FINETUNE_METRICS)));
    assertEquals(List.of(
        row("epochs", "3"),
        row("final train loss", "0.3000 (epoch 3)"),
        row("best train loss", "0.3000 (epoch 3)"),
        row("final val loss", "0.5000 (epoch 3)"),
        row("best val loss", "0.4500 (epoch 2)"),
        row("final train acc", "0.9000 (epoch 3)"),
        row("final val acc", "0.8000 (epoch 3)"),
        row("final test acc", "0.8250 (epoch 3)"),
        row("best val acc", "0.8500 (epoch 2)"),
        row("metrics lines", "3")), s.rows());
  }

  @Test
  void consoleLinesAlignValues() {
    Summary s = new Summary(List.of(row("steps", "400"), row("best val loss", "2.3450 (step 200)")));
    assertEquals("""
          steps          400
          best val loss  2.3450 (step 200)
        """, s.toConsole());
  }

  @Test
  void formatsIndicesAndDurations() {
    assertEquals("3", Summary.index(3.0));
    assertEquals("2.5", Summary.index(2.5));
    assertEquals("3,725 s (1:02:05)", Summary.duration(3725.2));
  }
}
