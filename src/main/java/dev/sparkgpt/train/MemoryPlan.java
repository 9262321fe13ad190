package dev.sparkgpt.train;

import dev.sparkgpt.config.OuterUpdate;

import dev.sparkgpt.config.ExchangeDtype;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a pretraining run needs in memory, per JVM, computed from the config before anything is allocated
 * ({@code pretrain --dry-run} prints it): ND4J off-heap bytes for the model, its gradients, AdamW moments and
 * activations; heap bytes for the exchange's chunks; and the largest single task result and broadcast, against
 * Spark's {@code spark.driver.maxResultSize}. A plan that does not fit is refused naming the number and the setting.
 */
public record MemoryPlan(long parameters, long driverOffHeap, long driverHeap, long workerOffHeap, long workerHeap,
    long largestResult, long broadcast, int workersPerJvm) {
  private static final long GIB = 1L << 30;

  /** The plan of {@code config} for {@code model} ({@code workersPerJvm}: workers sharing the driver's JVM, local mode). */
  public static MemoryPlan of(PretrainConfig config, ModelConfig model, int workersPerJvm) {
    PretrainConfig.Train t = config.train();
    long p = model.parameterCount();
    long weights = 4 * p;
    long trainer = weights * 4;                         // weights, gradients, two AdamW moments (float32)
    long activations = activationBytes(model, t.microBatchSize());
    boolean averaging = t.strategy() == dev.sparkgpt.config.Strategy.PARAMETER_AVERAGING;
    ExchangeDtype dtype = t.exchangeDtype();
    long chunk = Math.min(weights, Exchange.MAX_CHUNK_BYTES);
    if (!averaging) {
      return new MemoryPlan(p, trainer + activations, 2 * chunk, 0, 0, 0, 0, 0);
    }
    long outer = t.outerOptimizer() == OuterUpdate.NESTEROV ? weights : 0;    // momentum, on the heap
    long driverHeap = 6 * chunk + outer + weights;       // encoded broadcast + the per-chunk sums + momentum
    // a worker's model keeps its moments between rounds; bf16 also keeps θ_start (f32 reads it from the broadcast)
    long workerOff = trainer + activations + (dtype == ExchangeDtype.BF16 ? weights : 0);
    long workerHeap = weights / 4 * dtype.bytes() + 2 * chunk;  // encoded answer + two decoded chunks
    long result = p * dtype.bytes() * Math.max(1, t.workers()) <= Exchange.MAX_CHUNK_BYTES
        ? p * dtype.bytes() * t.workers() : Math.min(p * dtype.bytes(), Exchange.MAX_CHUNK_BYTES);
    // the driver's model only evaluates: weights and activations (AdamW moments and gradients are never allocated)
    return new MemoryPlan(p, weights + activations, driverHeap, workerOff, workerHeap, result, weights,
        workersPerJvm);
  }

  /** Activations kept for the backward pass of one micro-batch (float32), roughly: per layer ~16·C + heads·T. */
  static long activationBytes(ModelConfig m, int microBatch) {
    long tokens = (long) microBatch * m.contextLength();
    long perLayer = tokens * (16L * m.embeddingDim() + 2L * m.numHeads() * m.contextLength());
    return 4 * (m.numLayers() * perLayer + tokens * (long) m.vocabSize() * 2);
  }

  /** Lines for the dry run. */
  public List<String> describe() {
    List<String> out = new ArrayList<>();
    out.add(String.format(Locale.ROOT, "memory plan: %,d parameters (%s float32)", parameters, gib(4 * parameters)));
    out.add(String.format(Locale.ROOT, "  driver: off-heap %s (model%s, activations), heap %s",
        gib(driverOffHeap), workerOffHeap > 0 ? "" : ", gradients, AdamW", gib(driverHeap)));
    if (workerOffHeap > 0) {
      out.add(String.format(Locale.ROOT, "  per worker (executor core): off-heap %s, heap %s; in this JVM %d worker(s)",
          gib(workerOffHeap), gib(workerHeap), workersPerJvm));
      out.add(String.format(Locale.ROOT, "  largest task result %s (spark.driver.maxResultSize), broadcast %s per round"
          + " at most, in chunks of ≤ %s", gib(largestResult), gib(broadcast), gib(Exchange.MAX_CHUNK_BYTES)));
    }
    return out;
  }

  /**
   * Refuses the plan when it cannot fit: {@code offHeapLimit} / {@code heapLimit} of this JVM (driver, plus the
   * workers it hosts in local mode), {@code maxResultSize} (bytes, 0 = unlimited).
   */
  public void check(long offHeapLimit, long heapLimit, long maxResultSize) {
    long offHeap = driverOffHeap + (long) workersPerJvm * workerOffHeap;
    long heap = driverHeap + (long) workersPerJvm * workerHeap;
    if (offHeapLimit > 0 && offHeap > offHeapLimit) {
      throw new ConfigException("memory", "the run needs " + gib(offHeap) + " of ND4J off-heap memory in this JVM ("
          + "driver " + gib(driverOffHeap) + (workersPerJvm > 0 ? " + " + workersPerJvm + " worker(s) × "
          + gib(workerOffHeap) : "") + ") but -Dorg.bytedeco.javacpp.maxbytes allows " + gib(offHeapLimit),
          "raise SPARKGPT_OFFHEAP (or spark.executor.memoryOverhead on a cluster), use fewer workers per JVM, a "
          + "smaller train.micro_batch_size or a smaller model");
    }
    if (heapLimit > 0 && heap > heapLimit) {
      throw new ConfigException("memory", "the run needs " + gib(heap) + " of JVM heap but -Xmx is " + gib(heapLimit),
          "raise SPARKGPT_HEAP (spark.driver.memory on a cluster)");
    }
    if (maxResultSize > 0 && largestResult > maxResultSize) {
      throw new ConfigException("spark.driver.maxResultSize", "a round's largest task result is "
          + gib(largestResult) + ", above the limit of " + gib(maxResultSize),
          "set spark.driver.maxResultSize ≥ " + gib(largestResult * 2));
    }
  }

  private static String gib(long bytes) {
    return bytes >= GIB ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double) GIB)
        : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
  }
}
