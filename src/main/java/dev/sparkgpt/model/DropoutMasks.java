package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The inverted-dropout masks of one training forward pass (0 with probability drop_rate, else 1 / (1 - drop_rate)),
 * drawn in a fixed order from the model's {@link RandomStream}: embeddings, then per block the attention weights,
 * the attention output and the feed-forward output. The same stream state gives the same masks, in the explicit
 * model and in the SameDiff graph alike.
 *
 * @param embedding [B·T, C]
 * @param attention per block [B·H·T, T], applied to the softmax weights
 * @param attentionOutput per block [B·T, C], applied to the attention branch before the residual add
 * @param feedForwardOutput per block [B·T, C], applied to the feed-forward branch before the residual add
 */
public record DropoutMasks(INDArray embedding, INDArray[] attention, INDArray[] attentionOutput,
    INDArray[] feedForwardOutput) {

  /** Draws the masks for a [batch, time] input, or returns null when drop_rate is 0 (no dropout at all). */
  public static DropoutMasks draw(ModelConfig config, RandomStream random, DataType dataType, int batch, int time) {
    if (config.dropRate() == 0) {
      return null;
    }
    long rows = (long) batch * time;
    long c = config.embeddingDim();
    int layers = config.numLayers();
    INDArray embedding = mask(random, config.dropRate(), dataType, rows, c);
    INDArray[] attention = new INDArray[layers];
    INDArray[] attentionOutput = new INDArray[layers];
    INDArray[] feedForwardOutput = new INDArray[layers];
    for (int i = 0; i < layers; i++) {
      attention[i] = mask(random, config.dropRate(), dataType, rows * config.numHeads(), time);
      attentionOutput[i] = mask(random, config.dropRate(), dataType, rows, c);
      feedForwardOutput[i] = mask(random, config.dropRate(), dataType, rows, c);
    }
    return new DropoutMasks(embedding, attention, attentionOutput, feedForwardOutput);
  }

  private static INDArray mask(RandomStream random, double rate, DataType dataType, long rows, long columns) {
    float[] values = new float[Math.toIntExact(rows * columns)];
    random.fillDropoutMask(values, rate);
    return Nd4j.createFromArray(values).reshape(rows, columns).castTo(dataType);
  }
}
