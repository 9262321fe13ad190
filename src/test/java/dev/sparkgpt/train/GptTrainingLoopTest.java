package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The GPT under the real training loop: it learns, and a killed run resumes bit-identically from its checkpoint. */
class GptTrainingLoopTest {
  static {
    OneThread.pin();
  }

  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final ModelConfig MODEL = new ModelConfig(16, 8, 16, 2, 1, 0.1, true, true);

  private static int[] stream(int n) {
    int[] s = new int[n];
    for (int i = 1; i < n; i++) {
      s[i] = (s[i - 1] * 3 + 1) % 16;
    }
    return s;
  }

  private static PretrainConfig config(Path out) {
    return ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), null, List.of("data.text=unused.txt",
        "train.micro_batch_size=4", "train.global_batch_size=8", "train.max_steps=12", "train.lr_warmup_steps=2",
        "train.log_interval=4", "train.save_interval=6", "eval.interval=6", "eval.max_iters=1", "eval.prompt=",
        "optimizer.lr=0.01", "optimizer.min_lr=0.001"), Map.of("out_dir", out.toString()), null).validate();
  }

  private static TrainingLoop.Result run(PretrainConfig c, StepModel m) {
    TrainingWindows windows = TrainingWindows.fromStream(stream(600), 8, 8);
    return new TrainingLoop(c, m, windows, windows, Tokenizers.load("gpt2"), Map.of("vocab_size", 16),
        HadoopConf.create(), QUIET).run();
  }

  private static GptStepModel newModel(long seed) {
    return GptStepModel.create(MODEL, config(Path.of("unused")).optimizer(), seed);
  }

  @Test
  void learnsAndResumesBitIdenticallyAfterAKill(@TempDir Path dir) {
    GptStepModel straight = newModel(7);
    TrainingLoop.Result a = run(config(dir.resolve("a")), straight);
    assertEquals(12, a.step());
    assertTrue(a.trainLoss() < Math.log(16) - 0.3, "learned: " + a.trainLoss());

    StepModel killed = new KilledAtStep(newModel(7), 8);
    assertThrows(IllegalStateException.class, () -> run(config(dir.resolve("b")), killed));
    GptStepModel resumed = newModel(99); // a fresh process: other init, everything restored from step-000006
    TrainingLoop.Result b = run(config(dir.resolve("b")), resumed);
    assertEquals(12, b.step());
    assertEquals(a.trainLoss(), b.trainLoss());
    assertArrayEquals(straight.model().parameters().vector().toFloatVector(),
        resumed.model().parameters().vector().toFloatVector());
  }

  /** A model whose process dies inside optimizer step {@code killAt}, after the loop saved step 6. */
  private static final class KilledAtStep implements StepModel {
    private final StepModel inner;
    private final int killAt;
    private int steps;

    KilledAtStep(StepModel inner, int killAt) {
      this.inner = inner;
      this.killAt = killAt;
    }

    @Override
    public StepResult step(int[][][] inputs, int[][][] targets, double lr, double maxNorm) {
      if (++steps == killAt) {
        throw new IllegalStateException("killed");
      }
      return inner.step(inputs, targets, lr, maxNorm);
    }

    @Override
    public double loss(int[][] inputs, int[][] targets) {
      return inner.loss(inputs, targets);
    }

    @Override
    public int[] generate(int[] prompt, int maxNewTokens, int stopId) {
      return inner.generate(prompt, maxNewTokens, stopId);
    }

    @Override
    public long parameterCount() {
      return inner.parameterCount();
    }

    @Override
    public double flopsPerToken() {
      return inner.flopsPerToken();
    }

    @Override
    public Map<String, INDArray> weights() {
      return inner.weights();
    }

    @Override
    public Map<String, INDArray> optimizerState() {
      return inner.optimizerState();
    }

    @Override
    public long rngState() {
      return inner.rngState();
    }

    @Override
    public void restore(Map<String, INDArray> weights, Map<String, INDArray> optimizerState, long rngState) {
      inner.restore(weights, optimizerState, rngState);
    }
  }
}
