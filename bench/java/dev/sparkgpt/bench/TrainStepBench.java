package dev.sparkgpt.bench;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.DropoutMasks;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.RandomStream;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.model.graph.GptGraph;
import dev.sparkgpt.train.AdamW;
import dev.sparkgpt.train.TrainStep;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training-step speed of the GPT on this machine's CPU: dense gemm GFLOP/s on 1 and 2 BLAS threads (gemm into a
 * preallocated output, the MFU denominator), then tokens/s and MFU of full AdamW steps (dropout 0.1, clipping at
 * 1.0) for (a) emb 256 / 4 layers / 4 heads / vocab 50257 / context 128 / batch 8 and (b) GPT-2 124M / context 256 /
 * batch 2, with the time per phase. MFU = tokens/s × (6 × matmul weights + 12 × layers × emb × T) / peak, peak = the
 * 1024³ gemm rate measured above on the BLAS threads in use. When python3 with torch is importable, the same steps
 * run in PyTorch eager beside ours (bench/python/train_step_reference.py: same shapes, threads, batch, dropout, AdamW,
 * clipping) and the ratio is printed; otherwise absolute figures only. Last, (a)'s forward + backward through the
 * SameDiff reference graph, for comparison.
 * Usage: OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=1 bench/run TrainStepBench [steps-a] [steps-b]
 */
public final class TrainStepBench {
  public static void main(String[] args) {
    int stepsA = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int stepsB = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int threads = Nd4j.factory().blas().getMaxThreads();
    System.out.printf("OPENBLAS_CORETYPE=%s OMP_NUM_THREADS=%s, BLAS threads %d, %d cores%n",
        System.getenv("OPENBLAS_CORETYPE"), System.getenv("OMP_NUM_THREADS"), threads,
        Runtime.getRuntime().availableProcessors());

    double peak1 = gemmFlops(1024, 1024, 1024, 1);
    double head1 = gemmFlops(1024, 256, 50257, 1);
    double peak2 = gemmFlops(1024, 1024, 1024, 2);
    double head2 = gemmFlops(1024, 256, 50257, 2);
    Nd4j.factory().blas().setMaxThreads(threads);
    System.out.printf("gemm float32 GFLOP/s: 1024³ %.0f (1 thread) %.0f (2 threads); LM head [1024×256]·[256×50257]"
        + " %.0f (1 thread) %.0f (2 threads)%n", peak1 / 1e9, peak2 / 1e9, head1 / 1e9, head2 / 1e9);
    double peak = threads >= 2 ? peak2 : peak1;

    boolean torch = PythonReference.available("torch");
    if (!torch) {
      System.out.println("no PyTorch reference runs (python3 with torch not importable; Debian: python3-torch): "
          + "absolute figures only");
    }
    run("(a) emb 256, 4 layers, 4 heads, vocab 50257, context 128, batch 8",
        new ModelConfig(50257, 128, 256, 4, 4, 0.1, false, true), 8, stepsA, peak, torch ? threads : 0);
    run("(b) gpt2-124m, context 256, batch 2",
        new ModelConfig(50257, 256, 768, 12, 12, 0.1, true, true), 2, stepsB, peak, torch ? threads : 0);
    runGraph(new ModelConfig(50257, 128, 256, 4, 4, 0.1, false, true), 8, peak);
  }

  /** The same step's forward + backward through the SameDiff reference graph (why training uses GptModel). */
  private static void runGraph(ModelConfig config, int batch, double peak) {
    int time = config.contextLength();
    TokenBatch data = randomBatch(config, batch);
    GptParameters params = GptParameters.initialize(config, DataType.FLOAT, 1337);
    GptGraph graph = GptGraph.build(params, batch, time, true);
    DropoutMasks masks = DropoutMasks.draw(config, new RandomStream(1), DataType.FLOAT, batch, time);
    graph.gradients(data, masks); // warm-up
    long t0 = System.nanoTime();
    graph.gradients(data, masks);
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("%n(a) through the SameDiff graph (GptGraph, one-hot embedding): forward + backward %.2f s per "
        + "step, %.0f tokens/s without the optimizer, MFU %.1f%%%n", seconds, batch * time / seconds,
        100 * batch * time / seconds * config.trainingFlopsPerToken(time) / peak);
  }

  /** Best-of-5 FLOP/s of [m×k]·[k×n] into a preallocated c-order output on {@code threads} BLAS threads. */
  private static double gemmFlops(int m, int k, int n, int threads) {
    Nd4j.factory().blas().setMaxThreads(threads);
    INDArray a = Nd4j.rand(DataType.FLOAT, m, k);
    INDArray b = Nd4j.rand(DataType.FLOAT, k, n);
    INDArray c = Nd4j.create(DataType.FLOAT, m, n);
    Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
    double best = Double.MAX_VALUE;
    for (int r = 0; r < 5; r++) {
      long t0 = System.nanoTime();
      Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
      best = Math.min(best, (System.nanoTime() - t0) / 1e9);
    }
    return 2.0 * m * k * n / best;
  }

  /** Our steps, then ({@code torchThreads} > 0) the PyTorch-eager reference of the same on that many threads. */
  private static void run(String label, ModelConfig config, int batch, int steps, double peak, int torchThreads) {
    int time = config.contextLength();
    GptModel model = GptModel.initialize(config, DataType.FLOAT, 1337);
    TrainStep step = new TrainStep(model, new AdamW(model.parameters(), 0.9, 0.95, 1e-8, 0.1));
    TokenBatch data = randomBatch(config, batch);
    double normalizer = data.weightSum();
    System.out.printf("%n%s: %,d parameters, %.1f MFLOP per trained token (6 × %,d matmul weights + 12 × %d layers"
        + " × %d emb × %d tokens)%n", label, config.parameterCount(), config.trainingFlopsPerToken(time) / 1e6,
        Math.round((config.trainingFlopsPerToken(time) - 12.0 * config.numLayers() * config.embeddingDim() * time) / 6),
        config.numLayers(), config.embeddingDim(), time);
    step.accumulate(data, normalizer); // warm-up: JIT, first allocations
    step.apply(1e-4, 1.0);
    model.phaseSeconds(true);
    double optimizer = 0;
    double loss = 0;
    long start = System.nanoTime();
    for (int s = 0; s < steps; s++) {
      step.accumulate(data, normalizer);
      long t0 = System.nanoTime();
      loss = step.apply(1e-4, 1.0).loss();
      optimizer += (System.nanoTime() - t0) / 1e9;
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double tokensPerSecond = (double) batch * time * steps / seconds;
    double mfu = tokensPerSecond * config.trainingFlopsPerToken(time) / peak;
    System.out.printf("  %d steps in %.2f s: %.0f tokens/s, MFU %.1f%%, loss %.3f%n", steps, seconds,
        tokensPerSecond, 100 * mfu, loss);
    StringBuilder phases = new StringBuilder("  per step:");
    for (Map.Entry<String, Double> e : model.phaseSeconds(true).entrySet()) {
      phases.append(String.format(" %s %.3f s (%.0f%%) |", e.getKey(), e.getValue() / steps,
          100 * e.getValue() / seconds));
    }
    phases.append(String.format(" norm+clip+AdamW %.3f s (%.0f%%)", optimizer / steps, 100 * optimizer / seconds));
    System.out.println(phases);
    if (torchThreads > 0) {
      com.fasterxml.jackson.databind.JsonNode ref = PythonReference.run("train_step_reference.py", torchThreads,
          config.vocabSize(), time, config.embeddingDim(), config.numLayers(), config.numHeads(), config.qkvBias(),
          batch, steps, torchThreads);
      if (ref != null) {
        double theirs = ref.get("tokens_per_sec").asDouble();
        System.out.printf("  PyTorch %s eager, same run, %d thread(s): %.0f tokens/s, MFU %.1f%% -> ours / PyTorch "
            + "= %.2fx%n", ref.get("torch").asText(), torchThreads, theirs,
            100 * theirs * config.trainingFlopsPerToken(time) / peak, tokensPerSecond / theirs);
      }
    }
  }

  /** Token ids from a fixed LCG: the same batch in every run. */
  static TokenBatch randomBatch(ModelConfig config, int batch) {
    int time = config.contextLength();
    int[][] inputs = new int[batch][time];
    int[][] targets = new int[batch][time];
    long state = 42;
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < time; t++) {
        state = state * 6364136223846793005L + 1442695040888963407L;
        inputs[b][t] = (int) ((state >>> 33) % config.vocabSize());
        targets[b][t] = (int) ((state >>> 13) % config.vocabSize());
      }
    }
    return new TokenBatch(inputs, targets);
  }

  private TrainStepBench() {}
}
