package dev.sparkgpt.train;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import java.util.List;

/**
 * A GPT adapted with LoRA, as the training loop sees it: the adapters are attached to the model, which computes them
 * beside its frozen weights, and only they train (AdamW over them alone). weights(), optimizerState() and
 * weightVector() are the adapters', so checkpoints hold adapters only and parameter averaging exchanges them alone.
 * Generation and export read {@link #merged()}: the weights then hold W + s·A·B with the adapters detached; the
 * next step (or read of the adapters) puts the base back.
 */
public final class LoraStepModel extends GptStepModel {
  private final LoraAdapters lora;
  private final TrainStep.Target target;

  /** {@code optimizer} configures AdamW over the adapters (null: an adapted model for inference only). */
  public LoraStepModel(GptModel model, PretrainConfig.Optimizer optimizer, LoraAdapters lora) {
    super(model, new TrainStep(model, null));  // the step computes; the adapters' target holds the optimizer
    this.lora = lora;
    AdamW updater = optimizer == null ? null : adamW(lora.parameters(), optimizer);
    this.target = new TrainStep.Target() {
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
    prepareTraining();
  }

  public LoraAdapters adapters() {
    return lora;
  }

  @Override
  public GptModel merged() {
    if (!lora.merged()) {
      lora.applyTo(model().parameters());
      model().adapt(List.of());
    }
    return model();
  }

  @Override
  protected void prepareTraining() {
    if (lora.merged() || !model().adapters().equals(lora.adapters())) {
      lora.restoreBase();
      model().adapt(lora.adapters());
    }
  }

  @Override
  protected GptParameters trained() {
    return lora.parameters();
  }

  @Override
  protected AdamW updater() {
    return target.optimizer();
  }

  @Override
  protected TrainStep.Target target() {
    return target;
  }

  @Override
  public long parameterCount() {
    return lora.parameters().size();
  }

  /** The frozen base gets no weight gradients (2 of the 6 FLOPs per weight), the adapters their own 6 each. */
  @Override
  public double flopsPerToken() {
    ModelConfig c = model().config();
    return c.trainingFlopsPerToken(c.contextLength()) - 2 * c.matmulWeights() + 6.0 * lora.parameters().size();
  }
}
