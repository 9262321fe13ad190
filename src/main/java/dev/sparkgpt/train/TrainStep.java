package dev.sparkgpt.train;

import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.TokenBatch;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One optimizer step of a {@link GptModel}: gradients accumulated over micro-batches, a NaN/Inf check, clipping to
 * a global norm, then {@link AdamW}. The loss is the mean over every non-ignored target of all micro-batches
 * (weighted when the batches carry weights), so k micro-batches of B give the same step as one batch of k·B.
 */
public final class TrainStep {
  private final GptModel model;
  private final AdamW optimizer;
  private double pendingLoss;
  private int pendingBatches;
  private long pendingTargets;

  /** Loss and global gradient norm (before clipping) of a step, the clip factor applied, and targets trained on. */
  public record Result(double loss, double gradNorm, double clipScale, long targets) {}

  public TrainStep(GptModel model, AdamW optimizer) {
    this.model = model;
    this.optimizer = optimizer;
  }

  public GptModel model() {
    return model;
  }

  public AdamW optimizer() {
    return optimizer;
  }

  /** Accumulates all micro-batches (normalized by their joint weight sum) and applies one update. */
  public Result step(List<TokenBatch> microBatches, double learningRate, double maxGradNorm) {
    return step(microBatches, learningRate, maxGradNorm, null);
  }

  /** As {@link #step(List, double, double)}, updating {@code target} (null = the model). */
  public Result step(List<TokenBatch> microBatches, double learningRate, double maxGradNorm, Target target) {
    double normalizer = 0;
    for (TokenBatch batch : microBatches) {
      normalizer += batch.weightSum();
    }
    for (TokenBatch batch : microBatches) {
      accumulate(batch, normalizer);
    }
    return apply(learningRate, maxGradNorm, target);
  }

  /**
   * Adds one micro-batch's gradient of Σ weight · CE / {@code normalizer} (normalizer: the weight sum of every
   * micro-batch of this step) and returns its share of the step's loss.
   */
  public double accumulate(TokenBatch microBatch, double normalizer) {
    if (pendingBatches == 0) {
      model.zeroGradients();
    }
    double share = normalizer > 0 ? model.accumulateGradients(microBatch, normalizer) : 0;
    pendingLoss += share;
    pendingBatches++;
    for (int[] row : microBatch.targets()) {
      for (int y : row) {
        pendingTargets += y == TokenBatch.IGNORE_INDEX ? 0 : 1;
      }
    }
    return share;
  }

  /**
   * Checks the accumulated loss and gradients, clips them to {@code maxGradNorm} (0 = no clipping; PyTorch's
   * factor maxGradNorm / (norm + 1e-6)) and updates the weights. Throws {@link TrainingDivergedException} before
   * touching the weights when the loss or any gradient is NaN or infinite.
   */
  public Result apply(double learningRate, double maxGradNorm) {
    return apply(learningRate, maxGradNorm, null);
  }

  /** Where an update goes when it is not the model's own parameters (LoRA adapters attached to the model). */
  public interface Target {
    GptParameters parameters();

    /** The gradients of {@link #parameters()} the model's backward accumulated. */
    GptParameters gradients();

    AdamW optimizer();
  }

  /** As {@link #apply(double, double)}, updating {@code target} (null = the model) instead. */
  public Result apply(double learningRate, double maxGradNorm, Target target) {
    if (pendingBatches == 0) {
      throw new IllegalStateException("apply() without any accumulated micro-batch");
    }
    double loss = pendingLoss;
    long targets = pendingTargets;
    pendingLoss = 0;
    pendingBatches = 0;
    pendingTargets = 0;
    GptParameters gradients = target == null ? model.gradients() : target.gradients();
    GptParameters parameters = target == null ? model.parameters() : target.parameters();
    AdamW updater = target == null ? optimizer : target.optimizer();
    for (String name : updater.frozen()) {
      gradients.get(name).assign(0); // frozen: no share of the norm, no update
    }
    double norm = GlobalNorm.of(gradients.vector());
    if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
      throw new TrainingDivergedException("optimizer step " + (updater.stepCount() + 1) + ": loss " + loss
          + ", gradient norm " + norm + firstNonFinite(gradients) + "; the weights were not updated. Fix: lower "
          + "the learning rate, clip gradients (max_norm 1.0) or add warmup, then resume from the last checkpoint");
    }
    double scale = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / (norm + 1e-6) : 1.0;
    updater.step(parameters, gradients, learningRate, scale);
    return new Result(loss, norm, scale, targets);
  }

  private static String firstNonFinite(GptParameters gradients) {
    for (var e : gradients.views().entrySet()) {
      INDArray g = e.getValue();
      double sum = g.sumNumber().doubleValue();
      if (!Double.isFinite(sum)) {
        return " (first non-finite gradient: " + e.getKey() + ")";
      }
    }
    return "";
  }
}
