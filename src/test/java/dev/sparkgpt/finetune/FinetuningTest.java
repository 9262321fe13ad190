package dev.sparkgpt.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.TensorBoardFiles;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.train.EarlyStop;
import dev.sparkgpt.train.GptStepModel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** The finetunes' run on the shared loop: epoch lines, checkpoints per epoch, early stop and its resume. */
class FinetuningTest {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final ModelConfig TINY = new ModelConfig(50, 16, 16, 2, 1, 0.0, false, true);

  @BeforeAll
  static void oneThread() {
    OneThread.pin();
  }

  private static GptStepModel model() {
    return new GptStepModel(GptModel.initialize(TINY, DataType.FLOAT, 3),
        new PretrainConfig.Optimizer(1e-3, 1e-3, 0, 0.9, 0.95, 1e-8));
  }

  /** 12 examples of 8 tokens; epoch e's end reports val loss {@code vals[e - 1]}. */
  private static Finetuning.Outcome run(Path out, double[] vals, int epochs, int patience, List<Integer> ended,
      List<Integer> finalLines) {
    Finetuning.Settings s = new Finetuning.Settings(out.toString(), epochs, 4, 1e-3, 1.0, 1, 5, "finetune test", 1,
        1, patience, true);
    Finetuning.Examples batches = rows -> {
      int[][] in = new int[rows.size()][8];
      int[][] tg = new int[rows.size()][8];
      for (int r = 0; r < rows.size(); r++) {
        for (int i = 0; i < 8; i++) {
          in[r][i] = (rows.get(r) + i) % 50;
          tg[r][i] = (rows.get(r) + i + 1) % 50;
        }
      }
      return new TokenBatch(in, tg);
    };
    Finetuning.EpochEnd end = (epoch, trainLoss, rate) -> {
      ended.add(epoch);
      return Map.of("val_loss", vals[epoch - 1]);
    };
    return Finetuning.job(s, model()).examples(12, batches).onEpochEnd(end).state(Map.of("kind", "test"))
        .finalLine(epochsDone -> {
          finalLines.add(epochsDone);
          return Map.of("epoch", epochsDone, Finetuning.FINAL_KEY, true);
        }).run(HadoopConf.create(), QUIET);
  }

  @Test
  void earlyStopEndsAfterPatienceEpochsWithoutABetterValLossAndARerunTrainsNoFurther(@TempDir Path dir)
      throws Exception {
    double[] vals = {3.0, 2.0, 2.5, 2.2, 1.0, 0.5};
    List<Integer> ended = new ArrayList<>();
    List<Integer> finals = new ArrayList<>();
    Finetuning.Outcome o = run(dir, vals, 6, 2, ended, finals);
    assertEquals(new Finetuning.Outcome(12, 4, EarlyStop.REASON), o, "3 steps per epoch; best at epoch 2");
    assertEquals(List.of(1, 2, 3, 4), ended);
    assertEquals(List.of(4), finals);
    assertEquals(List.of(9L, 12L), new CheckpointStore(dir.toString(), HadoopConf.create(), 2).steps(),
        "a checkpoint per epoch (the newest two kept)");
    JsonNode state = JsonFiles.MAPPER.readTree(Files.readString(dir.resolve("step-000012/state.json")));
    assertEquals(4, state.get("epoch").asInt());
    assertEquals(2, state.at("/early_stop/evaluations_since_best").asInt());

    ended.clear();
    Finetuning.Outcome again = run(dir, vals, 6, 2, ended, finals);
    assertEquals(new Finetuning.Outcome(12, 4, EarlyStop.REASON), again);
    assertEquals(List.of(), ended, "no epoch trained again");
    List<JsonNode> lines = new ArrayList<>();
    for (String l : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
      lines.add(JsonFiles.MAPPER.readTree(l));
    }
    assertEquals(12, lines.stream().filter(n -> n.has("step")).count(), "a step line per step, none twice");
    assertEquals(4, lines.stream().filter(n -> n.has("epoch") && !n.has("step") && !n.has(Finetuning.FINAL_KEY))
        .count());
    assertTrue(lines.get(lines.size() - 1).has(Finetuning.FINAL_KEY));
    assertEquals(1, lines.stream().filter(n -> n.has(Finetuning.FINAL_KEY)).count(), "the final line rewritten once");

    // a larger patience continues the same run: epoch 5 improves, so it trains the remaining epochs
    ended.clear();
    Finetuning.Outcome more = run(dir, vals, 6, 3, ended, finals);
    assertEquals(new Finetuning.Outcome(18, 6, Finetuning.EPOCHS), more);
    assertEquals(List.of(5, 6), ended);

    // train.tensorboard: one event file per run; epoch lines at the step their epoch ended, as epoch/<key>
    List<Path> files = TensorBoardFiles.files(dir);
    assertEquals(3, files.size(), files.toString());
    var first = TensorBoardFiles.events(files.get(0));
    var third = TensorBoardFiles.events(files.get(2));
    assertEquals(Map.of(3L, 3.0f, 6L, 2.0f, 9L, 2.5f, 12L, 2.2f), TensorBoardFiles.scalars(first, "epoch/val_loss"));
    assertEquals(Map.of(15L, 1.0f, 18L, 0.5f), TensorBoardFiles.scalars(third, "epoch/val_loss"));
    assertEquals(13, third.get(1).getStep(), "the continued run's START marker: its first step");
    assertEquals(12, TensorBoardFiles.scalars(first, "train_loss").size(), "a step line per step");
  }
}
