package dev.sparkgpt.bench;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.train.GptStepModel;
import dev.sparkgpt.train.LoraAdapters;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * LoRA (r=8 on attention qkv + proj, and on every target incl. the untied head) vs full finetuning on
 * gpt2-124m-shaped random weights, same batch (2 × 128 tokens), same JVM: step time (and its forward / head+loss /
 * backward split), trainable parameters, optimizer-state bytes (AdamW keeps two moments per trainable value) and the
 * resident memory each run added while it was built and took its first step (gradients, optimizer state, activations,
 * weight copies; weights excluded). The configurations step in turn (full, LoRA, LoRA, full, …), so a machine whose
 * load changes slows them alike and the ratios stay fair.
 * Usage: bench/run LoraBench [timed steps each (default 3)] [lora dropout (default 0)] [n_layers (default 12)]
 */
public final class LoraBench {
  private LoraBench() {}

  /** One configuration: its model, trainer and timings. */
  private record Run(String name, GptModel model, GptStepModel step, long addedBytes, double[] ms, double[] cpuMs) {}

  /** CPU time of this process (all threads), ns: on a loaded machine a fairer measure of work than wall time. */
  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  public static void main(String[] args) {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    double dropout = args.length > 1 ? Double.parseDouble(args[1]) : 0;
    int layers = args.length > 2 ? Integer.parseInt(args[2]) : 12;
    ModelConfig c = ModelConfigs.resolve("gpt2-124m", Map.of("drop_rate", 0.0, "context_length", 128,
        "tie_embeddings", false, "n_layers", layers));
    PretrainConfig.Optimizer adam = new PretrainConfig.Optimizer(1e-4, 1e-4, 0.1, 0.9, 0.999, 1e-8);
    Random r = new Random(1);
    int[][] x = new int[2][128];
    int[][] y = new int[2][128];
    for (int b = 0; b < 2; b++) {
      for (int t = 0; t < 128; t++) {
        x[b][t] = r.nextInt(c.vocabSize());
        y[b][t] = r.nextInt(c.vocabSize());
      }
    }
    System.out.printf("gpt2-124m shapes (untied head, %d layers), batch 2 × 128, %d timed steps each after 1 warm-up, "
        + "taken in turn, %d threads, lora dropout %s%n", layers, steps,
        org.nd4j.linalg.factory.Nd4j.factory().blas().getMaxThreads(), dropout);
    List<Run> runs = List.of(build("full", c, null, adam, x, y, steps, dropout),
        build("LoRA r=8 attn qkv + proj", c, List.of("attn_qkv", "attn_proj"), adam, x, y, steps, dropout),
        build("LoRA r=8 all targets + head", c, List.of("attn_qkv", "attn_proj", "mlp_fc", "mlp_proj", "head"), adam,
            x, y, steps, dropout));
    runs.forEach(run -> run.model().phaseSeconds(true));
    for (int i = 0; i < steps; i++) {
      for (Run run : runs) {
        long t0 = System.nanoTime();
        long cpu0 = cpuNanos();
        run.step().step(new int[][][] {x}, new int[][][] {y}, 1e-4, 1.0);
        run.ms()[i] = (System.nanoTime() - t0) / 1e6;
        run.cpuMs()[i] = (cpuNanos() - cpu0) / 1e6;
      }
    }
    double fullMs = mean(runs.get(0).ms());
    double fullCpuMs = mean(runs.get(0).cpuMs());
    for (Run run : runs) {
      StringBuilder phases = new StringBuilder();
      run.model().phaseSeconds(true).forEach((phase, s) -> phases.append(String.format(" %s %.0f", phase,
          s * 1e3 / steps)));
      System.out.printf("%s: %,d trainable, optimizer state %.1f MB, +%.0f MB resident, %.0f ms/step %s (%s ms) = "
          + "%.2fx full; CPU %.0f ms/step = %.2fx full%n", run.name(), run.step().parameterCount(),
          bytes(run.step().optimizerState()) / 1e6, run.addedBytes() / 1e6, mean(run.ms()),
          java.util.Arrays.toString(java.util.Arrays.stream(run.ms()).mapToLong(Math::round).toArray()),
          phases.toString().trim(), mean(run.ms()) / fullMs, mean(run.cpuMs()), mean(run.cpuMs()) / fullCpuMs);
    }
  }

  /** A fresh model trained as {@code targets} (null = full finetune) after its warm-up step. */
  private static Run build(String name, ModelConfig c, List<String> targets, PretrainConfig.Optimizer adam,
      int[][] x, int[][] y, int steps, double dropout) {
    GptModel model = GptModel.initialize(c, DataType.FLOAT, 1);
    long before = Pointer.physicalBytes();
    GptStepModel step = targets == null ? new GptStepModel(model, adam) : new dev.sparkgpt.train.LoraStepModel(model, adam,
        new LoraAdapters(c, model.parameters(), 8, 16, dropout, targets, 2));
    step.step(new int[][][] {x}, new int[][][] {y}, 1e-4, 1.0);
    return new Run(name, model, step, Pointer.physicalBytes() - before, new double[steps], new double[steps]);
  }

  private static double mean(double[] values) {
    return java.util.Arrays.stream(values).average().orElse(Double.NaN);
  }

  private static double bytes(Map<String, INDArray> state) {
    return state.values().stream().mapToDouble(a -> a.length() * a.dataType().width()).sum();
  }
}
