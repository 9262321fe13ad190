package dev.sparkgpt.model.graph;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.ParamNames;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The GPT's layers as SameDiff subgraphs, built only from ops whose gradients pass the finite-difference checks in
 * SameDiffOpChecksTest: matmul (plain, transposed, batched), reshape, permute, slice, elementwise arithmetic, tanh,
 * exp, log, rsqrt, mean, sum, max and softmax.
 */
final class GraphLayers {
  /** √(2/π) and the cubic coefficient of GELU's tanh approximation. */
  private static final double GELU_SCALE = Math.sqrt(2 / Math.PI);
  private static final double GELU_CUBIC = 0.044715;
  private static final double EPS = 1e-5;

  private GraphLayers() {}

  /**
   * LayerNorm from parts, (x - mean) · rsqrt(var + 1e-5) · scale + shift: [N, C] -> [N, C]. sd.nn.layerNorm's
   * gradient passes, but it has no epsilon argument (SameDiffOpChecksTest.layerNormOpHasNoEpsilon).
   */
  static SDVariable layerNorm(SameDiff sd, SDVariable x, String scale, String shift) {
    SDVariable centered = x.sub(x.mean(true, 1));                                 // [N, C]
    SDVariable variance = centered.mul(centered).mean(true, 1);                   // [N, 1]
    return centered.mul(sd.math.rsqrt(variance.add(EPS)))
        .mul(sd.getVariable(scale)).add(sd.getVariable(shift));
  }

  /** Causal self-attention of block {@code layer}: [N, C] -> [N, C]; {@code dropout} [B·H·T, T] or null. */
  static SDVariable attention(SameDiff sd, ModelConfig config, int layer, SDVariable x, SDVariable causalMask,
      SDVariable dropout, int batch, int time) {
    int c = config.embeddingDim();
    int heads = config.numHeads();
    int d = config.headDim();
    SDVariable[] qkv = new SDVariable[3];
    SDVariable weight = sd.getVariable(ParamNames.block(layer, ParamNames.QKV_WEIGHT));  // [C, 3C]
    for (int part = 0; part < 3; part++) {
      SDVariable projected = x.mmul(sd.slice(weight, new int[] {0, part * c}, c, c));    // [N, C]
      if (config.qkvBias()) {
        projected = projected.add(sd.slice(sd.getVariable(ParamNames.block(layer, ParamNames.QKV_BIAS)),
            new int[] {part * c}, c));
      }
      qkv[part] = projected.reshape(batch, time, heads, d).permute(0, 2, 1, 3);          // [B, T, H, D] -> [B, H, T, D]
    }
    SDVariable scores = sd.mmul(qkv[0], qkv[1], false, true, false).mul(1.0 / Math.sqrt(d)); // [B, H, T, T]
    SDVariable weights = sd.nn.softmax(scores.add(causalMask), -1);
    if (dropout != null) {
      weights = weights.mul(dropout.reshape(batch, heads, time, time));
    }
    SDVariable context = sd.mmul(weights, qkv[2])                                        // [B, H, T, D]
        .permute(0, 2, 1, 3).reshape(batch * time, c);                                   // -> [B, T, H, D] -> [N, C]
    return context.mmul(sd.getVariable(ParamNames.block(layer, ParamNames.ATTENTION_OUT_WEIGHT)))
        .add(sd.getVariable(ParamNames.block(layer, ParamNames.ATTENTION_OUT_BIAS)));
  }

  /**
   * Feed-forward of block {@code layer}: [N, C] -> [N, 4C] -> GELU -> [N, C]. GELU from parts: sd.nn.gelu is the
   * sigmoid approximation, preciseGelu neither formula (SameDiffOpChecksTest.preciseGeluIsNotTheTanhApproximation).
   */
  static SDVariable feedForward(SameDiff sd, int layer, SDVariable x) {
    SDVariable hidden = x.mmul(sd.getVariable(ParamNames.block(layer, ParamNames.FF_UP_WEIGHT)))
        .add(sd.getVariable(ParamNames.block(layer, ParamNames.FF_UP_BIAS)));                // [N, 4C]
    SDVariable inner = hidden.add(sd.math.cube(hidden).mul(GELU_CUBIC)).mul(GELU_SCALE);
    SDVariable activated = hidden.mul(0.5).mul(sd.math.tanh(inner).add(1.0));
    return activated.mmul(sd.getVariable(ParamNames.block(layer, ParamNames.FF_DOWN_WEIGHT)))
        .add(sd.getVariable(ParamNames.block(layer, ParamNames.FF_DOWN_BIAS)));              // [N, C]
  }

  /**
   * Σ weight · (log Σ exp(z) - z_y) / Σ weight from parts (max-shifted log-sum-exp): sd.loss.softmaxCrossEntropy
   * ignores its incoming gradient, sd.math.logSumExp's backward fails and sd.nn.logSoftmax cannot be built
   * (SameDiffOpChecksTest). {@code logits} [N, V], {@code targetsOneHot} [N, V] (all zero for an ignored
   * target), {@code weights} [N, 1] already zero where ignored.
   */
  static SDVariable crossEntropy(SameDiff sd, SDVariable logits, SDVariable targetsOneHot, SDVariable weights) {
    SDVariable shifted = logits.sub(logits.max(true, 1));                                 // [N, V]
    SDVariable logSumExp = sd.math.log(sd.math.exp(shifted).sum(true, 1));                // [N, 1]
    SDVariable picked = shifted.mul(targetsOneHot).sum(true, 1);                           // [N, 1]
    return logSumExp.sub(picked).mul(weights).sum().div(weights.sum());
  }
}
