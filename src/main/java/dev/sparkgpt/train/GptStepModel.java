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
 * optimizer moments as named tensors that checkpoints save and parameter averaging averages.
 */
public final class GptStepModel implements StepModel {
  private final GptModel model;
  private final TrainStep trainStep;
  private final LoraAdapters lora;
  private final TrainStep.Target loraTarget;

  /** Training model: {@code optimizer} configures AdamW (may be null for inference only). */
  public GptStepModel(GptModel model, PretrainConfig.Optimizer optimizer) {
    this(model, optimizer, null);
  }

  /**
   * With {@code lora} (may be null): the adapters are attached to the model, which computes them beside its frozen
   * weights, and only they train (AdamW over them alone); weights() and optimizerState() are the adapters', so
   * checkpoints hold adapters only. Generation merges them into the weights ({@link #merged()}); the next step puts
   * the base back.
   */
  public GptStepModel(GptModel model, PretrainConfig.Optimizer optimizer, LoraAdapters lora) {
    this.model = model;
    this.lora = lora;
    if (lora == null) {
      this.trainStep = optimizer == null ? null : new TrainStep(model, adamW(model.parameters(), optimizer));
      this.loraTarget = null;
    } else {
      this.trainStep = new TrainStep(model, null);
      AdamW updater = adamW(lora.parameters(), optimizer);
      this.loraTarget = new TrainStep.Target() {
        @Override
        public GptParameters parameters() {
          return lora.parameters();
        }

        @Override
        public GptParameters gradients() {
          return lora.gradients();
        }

        @Override
        public AdamW optimizer() {
          return updater;
        }
      };
      unmerged();
    }
  }

  private static AdamW adamW(GptParameters parameters, PretrainConfig.Optimizer o) {
    return new AdamW(parameters, o.beta1(), o.beta2(), o.eps(), o.weightDecay());
  }

  public GptModel model() {
    return model;
  }

  /**
   * The model for generation and export: with LoRA, its weights hold W + s·A·B and the adapters are detached (the
   * base is kept aside and comes back at the next step); without, the model as it is.
   */
  public GptModel merged() {
    if (lora != null && !lora.merged()) {
      lora.applyTo(model.parameters());
      model.adapt(List.of());
    }
    return model;
  }

  /** With LoRA: the base weights back in the model and the adapters attached (the training state). */
  private void unmerged() {
    if (lora != null && (lora.merged() || !model.adapters().equals(lora.adapters()))) {
      lora.restoreBase();
      model.adapt(lora.adapters());
    }
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
    unmerged();
    TrainStep.Result r = trainStep.step(batches, lr, maxNorm, loraTarget);
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
    return lora == null ? model.config().parameterCount() : lora.parameters().size();
  }

  @Override
  public double flopsPerToken() {
    ModelConfig c = model.config();
    double full = c.trainingFlopsPerToken(c.contextLength());
    // LoRA: the frozen base gets no weight gradients (2 of the 6 FLOPs per weight), the adapters their own 6 each
    return lora == null ? full : full - 2 * c.matmulWeights() + 6.0 * lora.parameters().size();
  }

  @Override
  public Map<String, INDArray> weights() {
    return (lora == null ? model.parameters() : lora.parameters()).toMap(DataType.FLOAT);
  }

  @Override
  public Map<String, INDArray> optimizerState() {
    return lora == null ? trainStep.optimizer().state() : loraTarget.optimizer().state();
  }

  @Override
  public Map<String, INDArray> optimizerStateViews() {
    return lora == null ? trainStep.optimizer().stateViews() : loraTarget.optimizer().stateViews();
  }

  @Override
  public INDArray weightVector() {
    unmerged();
    return (lora == null ? model.parameters() : lora.parameters()).vector();
  }

  @Override
  public void restoreOptimizer(Map<String, INDArray> optimizerState) {
    AdamW updater = lora == null ? (trainStep == null ? null : trainStep.optimizer()) : loraTarget.optimizer();
    if (updater != null) {
      updater.loadState(optimizerState);
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
    unmerged();
    GptParameters p = lora == null ? model.parameters() : lora.parameters();
    for (String name : p.names()) {
      INDArray w = weights.get(name);
      if (w == null) {
        throw new IllegalArgumentException("checkpoint lacks parameter " + name);
      }
      p.set(name, w);
    }
    AdamW updater = lora == null ? (trainStep == null ? null : trainStep.optimizer()) : loraTarget.optimizer();
    if (updater != null && !optimizerState.isEmpty()) {
      updater.loadState(optimizerState);
    }
    model.random().setState(rngState);
  }
}
