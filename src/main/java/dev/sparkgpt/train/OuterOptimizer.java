package dev.sparkgpt.train;

import dev.sparkgpt.config.OuterUpdate;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The driver's step between rounds (DiLoCo's outer optimizer), on the workers' mean pseudo-gradient
 * {@code Δ = θ_start − mean(θ_worker)}: {@code average} takes the mean as the new model ({@code θ ← θ − Δ});
 * {@code nesterov} is SGD with Nesterov momentum as PyTorch defines it ({@code b ← μ·b + Δ},
 * {@code θ ← θ − lr·(Δ + μ·b)}), DiLoCo's choice (lr 0.7, μ 0.9). The momentum lives in chunks matching the
 * exchange's, and goes into checkpoints as {@code outer.momentum.NNN} tensors.
 */
public final class OuterOptimizer {
  /** Prefix of the momentum tensors in optimizer.safetensors. */
  public static final String MOMENTUM = "outer.momentum.";

  /** {@code train.outer_optimizer}. */
  private final OuterUpdate kind;
  private final float lr;
  private final float momentum;
  private final Map<Integer, float[]> buffers = new LinkedHashMap<>();

  public OuterOptimizer(OuterUpdate kind, double lr, double momentum) {
    this.kind = kind;
    this.lr = (float) lr;
    this.momentum = (float) momentum;
  }

  public OuterUpdate kind() {
    return kind;
  }

  /**
   * Turns {@code delta[0..n)}, chunk {@code chunk}'s mean pseudo-gradient, into the update {@code u} in place:
   * the new weights are {@code θ − u}.
   */
  public void update(int chunk, float[] delta, int n) {
    if (kind == OuterUpdate.AVERAGE) {
      return;
    }
    float[] b = buffers.computeIfAbsent(chunk, c -> new float[n]);
    for (int i = 0; i < n; i++) {
      b[i] = momentum * b[i] + delta[i];
      delta[i] = lr * (delta[i] + momentum * b[i]);
    }
  }

  /** The momentum as checkpoint tensors (empty for {@code average}, or before the first round). */
  public Map<String, INDArray> state() {
    Map<String, INDArray> out = new LinkedHashMap<>();
    buffers.forEach((c, b) -> out.put(String.format("%s%03d", MOMENTUM, c), Nd4j.createFromArray(b.clone())));
    return out;
  }

  /** Restores {@link #state()}; tensors of other names (a local run's moments) are ignored. */
  public void load(Map<String, INDArray> state) {
    buffers.clear();
    state.forEach((name, value) -> {
      if (name.startsWith(MOMENTUM)) {
        buffers.put(Integer.parseInt(name.substring(MOMENTUM.length())), value.ravel().toFloatVector());
      }
    });
  }
}
