package dev.sparkgpt.bench;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.KvDecoder;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.train.AdamW;
import dev.sparkgpt.train.TrainStep;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Cost of the Llama-style layers against GPT-2's on the same width, measured in one run: TrainStepBench's shape (a)
 * (emb 256, 4 layers, 4 heads, vocab 50257, context 128, batch 8, no dropout) as GPT-2 (the baseline), then with
 * RMSNorm + SwiGLU (hidden 688 ≈ 8/3·C, about GPT-2's feed-forward parameter count) + RoPE, with grouped-query
 * attention (2 key/value heads), and with DyT in place of RMSNorm. Prints seconds per AdamW step, the blocks' share
 * (forward + backward, without the LM head) and KV-cached decoding tokens/s, each as a ratio to GPT-2; GPT-2 again
 * last shows how much of a ratio is warm-up order and machine noise.
 * Usage: OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=1 bench/run LlamaBench [steps]
 */
public final class LlamaBench {
  public static void main(String[] args) {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    ModelConfig gpt2 = new ModelConfig(50257, 128, 256, 4, 4, 0.0, false, true);
    Map<String, ModelConfig> variants = new java.util.LinkedHashMap<>();
    variants.put("gpt2 (baseline)", gpt2);
    variants.put("rmsnorm+swiglu+rope", variant(gpt2, ModelConfig.RMSNORM, 4));
    variants.put("rmsnorm+swiglu+rope+gqa2", variant(gpt2, ModelConfig.RMSNORM, 2));
    variants.put("dyt+swiglu+rope+gqa2", variant(gpt2, ModelConfig.DYT, 2));
    variants.put("gpt2 (again: order/noise)", new ModelConfig(50257, 128, 256, 4, 4, 0.0, false, true));
    measure(gpt2, 8, 1); // JIT and BLAS warm-up, discarded: the first measured run was up to 1.4× slower
    double[] base = null;
    for (Map.Entry<String, ModelConfig> v : variants.entrySet()) {
      double[] r = measure(v.getValue(), 8, steps);
      base = base == null ? r : base;
      System.out.printf("%-26s %,11d params | step %.3f s (%.2f×) | blocks fwd+bwd %.3f s (%.2f×) | decode %.1f "
          + "tok/s (%.2f×)%n", v.getKey(), v.getValue().parameterCount(), r[0], r[0] / base[0], r[1], r[1] / base[1],
          r[2], r[2] / base[2]);
    }
  }

  private static ModelConfig variant(ModelConfig c, String norm, int kvGroups) {
    return new ModelConfig(c.vocabSize(), c.contextLength(), c.embeddingDim(), c.numHeads(), c.numLayers(), 0.0,
        false, true, 0, norm, 1e-5, ModelConfig.SWIGLU, 688, ModelConfig.ROPE, 10000.0, kvGroups, false);
  }

  /** {seconds per step, seconds per step outside the head, decoded tokens/s}. */
  private static double[] measure(ModelConfig config, int batch, int steps) {
    GptModel model = GptModel.initialize(config, DataType.FLOAT, 1337);
    TrainStep step = new TrainStep(model, new AdamW(model.parameters(), 0.9, 0.95, 1e-8, 0.1));
    TokenBatch data = TrainStepBench.randomBatch(config, batch);
    step.accumulate(data, data.weightSum()); // warm-up
    step.apply(1e-4, 1.0);
    model.phaseSeconds(true);
    long start = System.nanoTime();
    for (int s = 0; s < steps; s++) {
      step.accumulate(data, data.weightSum());
      step.apply(1e-4, 1.0);
    }
    double seconds = (System.nanoTime() - start) / 1e9 / steps;
    Map<String, Double> phases = model.phaseSeconds(true);
    double blocks = (phases.get("forward") + phases.get("backward")) / steps;
    KvDecoder decoder = model.decoder();
    decoder.append(data.inputs()[0]).clone();
    decoder.reset();
    decoder.append(java.util.Arrays.copyOf(data.inputs()[0], 8));
    long t0 = System.nanoTime();
    for (int t = 8; t < 72; t++) {
      decoder.append(new int[] {data.inputs()[0][t]});
    }
    double tokensPerSecond = 64 / ((System.nanoTime() - t0) / 1e9);
    return new double[] {seconds, blocks, tokensPerSecond};
  }

  private LlamaBench() {}
}
