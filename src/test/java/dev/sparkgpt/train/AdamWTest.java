package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.model.RandomStream;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** AdamW against its formula (PyTorch's torch.optim.AdamW), weight-decay groups and state round trips. */
class AdamWTest {
  static {
    OneThread.pin();
  }

  private static final ModelConfig CONFIG = new ModelConfig(11, 6, 8, 2, 1, 0.0, true, false);

  private static GptParameters random(long seed, DataType type) {
    GptParameters p = GptParameters.zeros(CONFIG, DataType.DOUBLE);
    double[] values = new double[(int) p.size()];
    new RandomStream(seed).fillGaussian(values, 0.5);
    p.vector().assign(Nd4j.createFromArray(values));
    return p.copy(type);
  }

  @Test
  void firstStepOfAScalarMatchesTheHandComputedValue() {
    GptParameters p = GptParameters.zeros(CONFIG, DataType.DOUBLE);
    GptParameters g = p.zerosLike();
    String matrix = ParamNames.block(0, ParamNames.FF_UP_WEIGHT);
    p.get(matrix).putScalar(0, 1.0);
    g.get(matrix).putScalar(0, 0.5);
    new AdamW(p, 0.9, 0.999, 1e-8, 0.1).step(p, g, 0.01, 1.0);
    // p·(1 - lr·wd) - lr · m̂/(√v̂ + eps) with m̂ = 0.5, √v̂ = 0.5
    assertEquals(1.0 * (1 - 0.01 * 0.1) - 0.01 * 0.5 / (0.5 + 1e-8), p.get(matrix).getDouble(0), 1e-15);
  }

  @Test
  void threeStepsMatchTheFormulaForEveryParameter() {
    GptParameters p = random(1, DataType.DOUBLE);
    GptParameters expected = p.copy(DataType.DOUBLE);
    AdamW adam = new AdamW(p, 0.9, 0.95, 1e-8, 0.1);
    INDArray m = Nd4j.zeros(DataType.DOUBLE, p.size());
    INDArray v = Nd4j.zeros(DataType.DOUBLE, p.size());
    INDArray decayMask = Nd4j.zeros(DataType.DOUBLE, p.size());
    long offset = 0;
    for (Map.Entry<String, INDArray> e : p.views().entrySet()) {
      if (AdamW.isDecayed(e.getKey(), e.getValue().shape())) {
        decayMask.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(offset, offset + e.getValue().length()))
            .assign(1);
      }
      offset += e.getValue().length();
    }
    double lr = 3e-3;
    for (int t = 1; t <= 3; t++) {
      GptParameters g = random(10 + t, DataType.DOUBLE);
      double scale = t == 2 ? 0.25 : 1.0;
      adam.step(p, g, lr, scale);
      INDArray grad = g.vector().mul(scale);
      m.muli(0.9).addi(grad.mul(0.1));
      v.muli(0.95).addi(grad.mul(grad).muli(0.05));
      INDArray mHat = m.div(1 - Math.pow(0.9, t));
      INDArray vHat = v.div(1 - Math.pow(0.95, t));
      INDArray decayed = expected.vector().mul(decayMask.mul(-lr * 0.1).addi(1));
      expected.vector().assign(decayed.subi(mHat.muli(lr).divi(Transforms.sqrt(vHat).addi(1e-8))));
    }
    assertEquals(0.0, p.vector().sub(expected.vector()).amaxNumber().doubleValue(), 1e-14);
    assertEquals(3, adam.stepCount());
    assertEquals(0.0, adam.firstMoment().vector().sub(m).amaxNumber().doubleValue(), 1e-15);
  }

  @Test
  void decayOnlyTouchesMultipliedMatrices() {
    GptParameters p = random(2, DataType.FLOAT);
    GptParameters before = p.copy(DataType.FLOAT);
    new AdamW(p, 0.9, 0.95, 1e-8, 0.5).step(p, p.zerosLike(), 0.1, 1.0); // zero gradient: decay alone
    for (String name : p.names()) {
      boolean decayed = !name.endsWith("bias") && !name.contains("norm") && !ParamNames.isEmbedding(name);
      assertEquals(decayed, AdamW.isDecayed(name, p.get(name).shape()), name);
      INDArray expected = decayed ? before.get(name).mul(1 - 0.1 * 0.5) : before.get(name);
      assertEquals(expected, p.get(name), name);
    }
    assertTrue(AdamW.isDecayed(ParamNames.OUT_HEAD, p.get(ParamNames.OUT_HEAD).shape()), "untied head decays");
    assertFalse(AdamW.isDecayed(ParamNames.TOKEN_EMBEDDING, p.get(ParamNames.TOKEN_EMBEDDING).shape()));
  }

  @Test
  void float32StepAgreesWithFloat64() {
    GptParameters p32 = random(3, DataType.FLOAT);
    GptParameters p64 = p32.copy(DataType.DOUBLE);
    AdamW a32 = new AdamW(p32, 0.9, 0.95, 1e-8, 0.1);
    AdamW a64 = new AdamW(p64, 0.9, 0.95, 1e-8, 0.1);
    for (int t = 0; t < 3; t++) {
      GptParameters g = random(20 + t, DataType.DOUBLE);
      a32.step(p32, g.copy(DataType.FLOAT), 1e-3, 1.0);
      a64.step(p64, g, 1e-3, 1.0);
    }
    assertEquals(0.0, p32.vector().castTo(DataType.DOUBLE).sub(p64.vector()).amaxNumber().doubleValue(), 1e-6);
  }

  @Test
  void stateRoundTripContinuesIdentically() {
    GptParameters p = random(4, DataType.FLOAT);
    AdamW adam = new AdamW(p, 0.9, 0.95, 1e-8, 0.1);
    adam.step(p, random(30, DataType.FLOAT), 1e-3, 1.0);
    Map<String, INDArray> state = adam.state();
    assertEquals(2 * p.names().size() + 1, state.size());
    assertTrue(state.containsKey("exp_avg_sq." + ParamNames.TOKEN_EMBEDDING));
    GptParameters copy = p.copy(DataType.FLOAT);
    AdamW restored = new AdamW(copy, 0.9, 0.95, 1e-8, 0.1);
    restored.loadState(state);
    GptParameters g = random(31, DataType.FLOAT);
    adam.step(p, g, 1e-3, 1.0);
    restored.step(copy, g, 1e-3, 1.0);
    assertEquals(p.vector(), copy.vector());
    state.remove("exp_avg." + ParamNames.POSITION_EMBEDDING);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> restored.loadState(state));
    assertTrue(e.getMessage().contains("exp_avg.pos_emb.weight"), e.getMessage());
  }
}
