package dev.sparkgpt.train;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.TokenBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The GPT as the {@link StepModel} the training loop drives in one process (train.strategy local): float32 weights,
 * AdamW, {@link TrainStep} for each optimizer step, greedy generation for the loop's samples.
 */
public final class GptStepModel implements StepModel {
  private final GptModel model;
  private final TrainStep trainStep;

  public GptStepModel(GptModel model, AdamW optimizer) {
    this.model = model;
    this.trainStep = new TrainStep(model, optimizer);
  }

  /** A freshly initialized float32 model ({@code seed} seeds weights and dropout) with AdamW from {@code o}. */
  public static GptStepModel create(ModelConfig config, PretrainConfig.Optimizer o, long seed) {
    GptModel model = GptModel.initialize(config, DataType.FLOAT, seed);
    return new GptStepModel(model, new AdamW(model.parameters(), o.beta1(), o.beta2(), o.eps(), o.weightDecay()));
  }

  public GptModel model() {
    return model;
  }

  @Override
  public StepResult step(int[][][] inputs, int[][][] targets, double lr, double maxNorm) {
    List<TokenBatch> microBatches = new ArrayList<>(inputs.length);
    for (int i = 0; i < inputs.length; i++) {
      microBatches.add(new TokenBatch(inputs[i], targets[i]));
    }
    TrainStep.Result r = trainStep.step(microBatches, lr, maxNorm);
    return new StepResult(r.loss(), r.gradNorm());
  }

  @Override
  public double loss(int[][] inputs, int[][] targets) {
    return model.loss(new TokenBatch(inputs, targets));
  }

  /** Greedy decoding without a cache: each new token re-reads the last context_length tokens. */
  @Override
  public int[] generate(int[] prompt, int maxNewTokens, int stopId) {
    int context = model.config().contextLength();
    int[] sequence = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
    int length = prompt.length;
    for (int n = 0; n < maxNewTokens; n++) {
      int from = Math.max(0, length - context);
      INDArray logits = model.logits(new int[][] {Arrays.copyOfRange(sequence, from, length)});   // [1, T, V]
      int next = logits.get(NDArrayIndex.point(0), NDArrayIndex.point(length - from - 1), NDArrayIndex.all())
          .argMax().getInt(0);
      sequence[length++] = next;
      if (next == stopId) {
        break;
      }
    }
    return Arrays.copyOfRange(sequence, prompt.length, length);
  }

  @Override
  public long parameterCount() {
    return model.config().parameterCount();
  }

  @Override
  public double flopsPerToken() {
    return model.config().trainingFlopsPerToken(model.config().contextLength());
  }

  @Override
  public Map<String, INDArray> weights() {
    return model.parameters().toMap(DataType.FLOAT);
  }

  @Override
  public Map<String, INDArray> optimizerState() {
    return trainStep.optimizer().state();
  }

  @Override
  public long rngState() {
    return model.random().state();
  }

  @Override
  public void restore(Map<String, INDArray> weights, Map<String, INDArray> optimizerState, long rngState) {
    GptParameters restored = GptParameters.fromMap(model.config(), weights, model.parameters().dataType());
    model.parameters().setVector(restored.vector());
    trainStep.optimizer().loadState(optimizerState);
    model.random().setState(rngState);
  }
}
