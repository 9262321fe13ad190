package dev.sparkgpt.train;

/**
 * Learning rate per optimizer step: linear warmup from maxLr / warmupSteps to maxLr over the first warmupSteps
 * steps, then cosine decay from maxLr to minLr at totalSteps, minLr after that. Steps count from 0.
 */
public record LrSchedule(double maxLr, double minLr, long warmupSteps, long totalSteps) {
  public LrSchedule {
    if (!(maxLr > 0) || minLr < 0 || minLr > maxLr) {
      throw new IllegalArgumentException("need 0 ≤ min_lr ≤ lr and lr > 0, got lr=" + maxLr + " min_lr=" + minLr);
    }
    if (warmupSteps < 0 || totalSteps < 0) {
      throw new IllegalArgumentException("warmup and total steps must be ≥ 0, got " + warmupSteps + " and "
          + totalSteps);
    }
  }

  /** The rate at 0-based {@code step}. With totalSteps ≤ warmupSteps it stays at maxLr after warmup. */
  public double at(long step) {
    if (step < warmupSteps) {
      return maxLr * (step + 1) / warmupSteps;
    }
    if (totalSteps <= warmupSteps) {
      return maxLr;
    }
    double progress = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
    return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (maxLr - minLr);
  }
}
