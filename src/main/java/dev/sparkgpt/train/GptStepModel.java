package dev.sparkgpt.train;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.Sampler;
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
 * The GPT as the training loop sees it: {@link TrainStep} (gradient accumulation over micro-batches as one joint
 * mean, NaN check, global-norm clipping) and {@link AdamW} behind the {@link StepModel} interface, with the
 * optimizer moments as named tensors that checkpoints save and parameter averaging averages. This class trains every
 * weight; {@link LoraStepModel} trains adapters beside frozen weights .
 */
public class GptStepModel implements StepModel {
  private final GptModel model;
  private final TrainStep trainStep;

  /** Training model: {@code optimizer} configures AdamW over every weight (may be null for inference only). */
  public GptStepModel(GptModel model, PretrainConfig.Optimizer optimizer) {
    this(model, optimizer == null ? null : new TrainStep(model, adamW(model.parameters(), optimizer)));
  }

  /** For a model that trains something else than all of its weights ({@link LoraStepModel}). */
  protected GptStepModel(GptModel model, TrainStep trainStep) {
    this.model = model;
    this.trainStep = trainStep;
  }

  static AdamW adamW(GptParameters parameters, PretrainConfig.Optimizer o) {
    return new AdamW(parameters, o.beta1(), o.beta2(), o.eps(), o.weightDecay());
  }

  public GptModel model() {
    return model;
  }

  /** The model for generation and export (an adapted model merges its adapters into the weights first). */
  public GptModel merged() {
    return model;
  }

  /** Puts the model into its training state before a step or a read of the trained weights (LoRA: unmerged). */
  protected void prepareTraining() {}

  /** What trains: every weight of the model (an adapted model: its adapters). */
  protected GptParameters trained() {
    return model.parameters();
  }

  /** The optimizer of {@link #trained()} (null for an inference-only model). */
  protected AdamW updater() {
    return trainStep == null ? null : trainStep.optimizer();
  }

  /** Where the step puts gradients and updates: null = the model's own weights, gradients and AdamW. */
  protected TrainStep.Target target() {
    return null;
  }

  /** Leaves these parameters unchanged by training (finetuning's frozen layers); they also drop out of the norm. */
  public GptStepModel freeze(java.util.Set<String> names) {
    trainStep.optimizer().freeze(names);
    return this;
  }

  @Override
  public StepResult step(int[][][] inputs, int[][][] targets, double lr, double maxNorm) {
    List<TokenBatch> batches = new ArrayList<>(inputs.length);
    for (int a = 0; a < inputs.length; a++) {
      batches.add(new TokenBatch(inputs[a], targets[a]));
    }
    prepareTraining();
    TrainStep.Result r = trainStep.step(batches, lr, maxNorm, target());
    return new StepResult(r.loss(), r.gradNorm());
  }

  @Override
  public double loss(int[][] inputs, int[][] targets) {
    return model.loss(new TokenBatch(inputs, targets));
  }

  /** Next-token logits of the last position of a context (eval mode), for generation. */
  public Generator.NextTokenLogits scorer() {
    ModelConfig c = model.config();
    return new Generator.NextTokenLogits() {
      @Override
      public float[] next(int[] context) {
        return merged().nextLogits(context);
      }

      @Override
      public int contextLength() {
        return c.contextLength();
      }

      @Override
      public int vocabSize() {
        return c.vocabSize();
      }

      @Override
      public Generator.Incremental incremental() {
        dev.sparkgpt.model.KvDecoder decoder = merged().decoder();
        return new Generator.Incremental() {
          @Override
          public float[] append(int[] ids) {
            merged(); // the decoder reads the weights live
            return decoder.append(ids);
          }

          @Override
          public void reset() {
            decoder.reset();
          }

          @Override
          public int length() {
            return decoder.length();
          }
        };
      }
    };
  }

  @Override
  public int[] generate(int[] prompt, int maxNewTokens, int stopId, int idLimit, Sampler sampler) {
    int[] out = new int[maxNewTokens];
    int n = 0;
    int[] context = prompt;
    Generator.NextTokenLogits scorer = scorer();
    for (int i = 0; i < maxNewTokens; i++) {
      int[] window = context.length > scorer.contextLength()
          ? Arrays.copyOfRange(context, context.length - scorer.contextLength(), context.length) : context;
      int id = sampler.next(scorer.next(window), Math.min(idLimit, scorer.vocabSize()));
      if (id == stopId) {
        break;
      }
      out[n++] = id;
      context = Arrays.copyOf(context, context.length + 1);
      context[context.length - 1] = id;
    }
    return Arrays.copyOf(out, n);
  }

  @Override
  public long parameterCount() {
    return model.config().parameterCount();
  }

  @Override
  public double flopsPerToken() {
    ModelConfig c = model.config();
    return c.trainingFlopsPerToken(c.contextLength());
  }

  @Override
  public Map<String, INDArray> weights() {
    return trained().toMap(DataType.FLOAT);
  }

  @Override
  public Map<String, INDArray> optimizerState() {
    return updater().state();
  }

  @Override
  public Map<String, INDArray> optimizerStateViews() {
    return updater().stateViews();
  }

  @Override
  public INDArray weightVector() {
    prepareTraining();
    return trained().vector();
  }

  @Override
  public void restoreOptimizer(Map<String, INDArray> optimizerState) {
    if (updater() != null) {
      updater().loadState(optimizerState);
    }
  }

  @Override
  public void setRngState(long rngState) {
    model.random().setState(rngState);
  }

  @Override
  public long rngState() {
    return model.random().state();
  }

  @Override
  public void restore(Map<String, INDArray> weights, Map<String, INDArray> optimizerState, long rngState) {
    prepareTraining();
    GptParameters p = trained();
    for (String name : p.names()) {
      INDArray w = weights.get(name);
      if (w == null) {
        throw new IllegalArgumentException("checkpoint lacks parameter " + name);
      }
      p.set(name, w);
    }
    if (updater() != null && !optimizerState.isEmpty()) {
      updater().loadState(optimizerState);
    }
    model.random().setState(rngState);
  }
}
