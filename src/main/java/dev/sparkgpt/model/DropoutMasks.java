package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The inverted-dropout masks of one training forward pass (0 with probability drop_rate, else 1 / (1 - drop_rate)),
 * drawn in a fixed order from the model's {@link RandomStream}: embeddings, then per block the attention weights,
 * the attention output and the feed-forward output, then the input of each low-rank adapter with lora dropout (in
 * the adapters' order). The same stream state gives the same masks, in the explicit model and in the SameDiff graph
 * alike. With drop_rate 0 but adapter dropout, the model's masks are null (no dropout there).
 *
 * @param embedding [B·T, C]
 * @param attention per block [B·H·T, T], applied to the softmax weights
 * @param attentionOutput per block [B·T, C], applied to the attention branch before the residual add
 * @param feedForwardOutput per block [B·T, C], applied to the feed-forward branch before the residual add
 * @param adapters by adapter name [B·T, in], applied to the adapter's input only ({@link LowRankAdapter})
 */
public record DropoutMasks(INDArray embedding, INDArray[] attention, INDArray[] attentionOutput,
    INDArray[] feedForwardOutput, Map<String, INDArray> adapters) {
  private static final int CHUNK = 1 << 14;

  /** Draws the masks for a [batch, time] input into new arrays, or returns null when drop_rate is 0. */
  public static DropoutMasks draw(ModelConfig config, RandomStream random, DataType dataType, int batch, int time) {
    return draw(config, random, dataType, batch, time, List.of());
  }

  /** As {@link #draw(ModelConfig, RandomStream, DataType, int, int)}, with the masks of {@code adapters} too. */
  public static DropoutMasks draw(ModelConfig config, RandomStream random, DataType dataType, int batch, int time,
      List<LowRankAdapter> adapters) {
    return draw(config, random, dataType, batch, time, new BufferPool(), adapters);
  }

  /** As {@link #draw(ModelConfig, RandomStream, DataType, int, int, List)}, into arrays of {@code pool}. */
  static DropoutMasks draw(ModelConfig config, RandomStream random, DataType dataType, int batch, int time,
      BufferPool pool, List<LowRankAdapter> adapters) {
    boolean adapterDropout = adapters.stream().anyMatch(a -> a.dropout() > 0);
    if (config.dropRate() == 0 && !adapterDropout) {
      return null;
    }
    long rows = (long) batch * time;
    long c = config.embeddingDim();
    int layers = config.numLayers();
    double rate = config.dropRate();
    INDArray embedding = rate == 0 ? null : fill(pool.get("dropout.embedding", dataType, rows, c), random, rate);
    INDArray[] attention = new INDArray[layers];
    INDArray[] attentionOutput = new INDArray[layers];
    INDArray[] feedForwardOutput = new INDArray[layers];
    for (int i = 0; i < layers && rate > 0; i++) {
      attention[i] = fill(pool.get("dropout.attention." + i, dataType, rows * config.numHeads(), time), random, rate);
      attentionOutput[i] = fill(pool.get("dropout.attention_output." + i, dataType, rows, c), random, rate);
      feedForwardOutput[i] = fill(pool.get("dropout.feed_forward_output." + i, dataType, rows, c), random, rate);
    }
    Map<String, INDArray> adapterMasks = new LinkedHashMap<>();
    for (LowRankAdapter a : adapters) {
      if (a.dropout() > 0) {
        adapterMasks.put(a.name(), fill(pool.get("dropout.adapter." + a.name(), dataType, rows, a.inputSize()),
            random, a.dropout()));
      }
    }
    return new DropoutMasks(embedding, attention, attentionOutput, feedForwardOutput, adapterMasks);
  }

  /** Writes a fresh mask into {@code target} chunk by chunk (no float[] of the whole size). */
  private static INDArray fill(INDArray target, RandomStream random, double rate) {
    int length = Math.toIntExact(target.length());
    float[] chunk = new float[Math.min(CHUNK, length)];
    if (target.dataType() == DataType.FLOAT) {
      FloatBuffer out = DirectBuffers.floats(target);
      for (int from = 0; from < length; from += chunk.length) {
        int n = Math.min(chunk.length, length - from);
        random.fillDropoutMask(chunk, rate);
        out.put(chunk, 0, n);
      }
    } else {
      DoubleBuffer out = DirectBuffers.doubles(target);
      double[] wide = new double[chunk.length];
      for (int from = 0; from < length; from += chunk.length) {
        int n = Math.min(chunk.length, length - from);
        random.fillDropoutMask(chunk, rate);
        for (int i = 0; i < n; i++) {
          wide[i] = chunk[i];
        }
        out.put(wide, 0, n);
      }
    }
    return target;
  }
}
