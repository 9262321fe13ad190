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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * LoRA (r=8 on attention qkv + proj) vs full finetuning on gpt2-124m-shaped random weights, same batch (2 × 128
 * tokens), same JVM: step time, trainable parameters and optimizer-state bytes (AdamW keeps two moments per trainable
 * value: the big saving).
 * Usage: bench/run LoraBench [steps (default 3)]
 */
public final class LoraBench {
  private LoraBench() {}

  public static void main(String[] args) {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    ModelConfig c = ModelConfigs.resolve("gpt2-124m", Map.of("drop_rate", 0.0, "context_length", 128));
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
    GptModel fullModel = GptModel.initialize(c, DataType.FLOAT, 1);
    GptStepModel full = new GptStepModel(fullModel, adam);
    double fullMs = time(full, x, y, steps);
    GptModel loraModel = GptModel.initialize(c, DataType.FLOAT, 1);
    LoraAdapters adapters = new LoraAdapters(c, loraModel.parameters(), 8, 16, List.of("attn_qkv", "attn_proj"), 2);
    GptStepModel lora = new GptStepModel(loraModel, adam, adapters);
    double loraMs = time(lora, x, y, steps);
    System.out.printf("gpt2-124m shapes, batch 2 × 128, %d timed steps after 1 warm-up, %d threads%n", steps,
        org.nd4j.linalg.factory.Nd4j.factory().blas().getMaxThreads());
    System.out.printf("full: %,d trainable, optimizer state %.0f MB, %.0f ms/step%n", full.parameterCount(),
        bytes(full.optimizerState()) / 1e6, fullMs);
    System.out.printf("LoRA r=8 (attn qkv + proj): %,d trainable, optimizer state %.1f MB, %.0f ms/step%n",
        lora.parameterCount(), bytes(lora.optimizerState()) / 1e6, loraMs);
    System.out.printf("LoRA / full: step time %.2fx, optimizer state %.4fx, trainable %.4fx%n", loraMs / fullMs,
        bytes(lora.optimizerState()) / bytes(full.optimizerState()),
        lora.parameterCount() / (double) full.parameterCount());
  }

  private static double time(GptStepModel m, int[][] x, int[][] y, int steps) {
    m.step(new int[][][] {x}, new int[][][] {y}, 1e-4, 1.0);
    long t0 = System.nanoTime();
    for (int i = 0; i < steps; i++) {
      m.step(new int[][][] {x}, new int[][][] {y}, 1e-4, 1.0);
    }
    return (System.nanoTime() - t0) / 1e6 / steps;
  }

  private static double bytes(Map<String, INDArray> state) {
    return state.values().stream().mapToDouble(a -> a.length() * a.dataType().width()).sum();
  }
}
