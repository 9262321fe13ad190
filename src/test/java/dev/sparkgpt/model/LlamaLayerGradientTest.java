package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparkgpt.config.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Finite-difference gradient checks (float64, {@link GradientCheck}) of the Llama-style layers (RMSNorm, DyT, SwiGLU,
 * attention with RoPE and grouped-query attention) on the loss Σ output ⊙ R, their values against the formulas, and
 * whole tiny Llama models.
 */
class LlamaLayerGradientTest {
  static {
    OneThread.pin();
  }

  private static final int BATCH = 2;
  private static final int TIME = 5;
  private final ModelConfig config = GradientCheck.tinyLlama(ModelConfig.RMSNORM, false);
  private final GptParameters params = GradientCheck.randomParameters(config, 0.4, 21);
  private final GptParameters grads = params.zerosLike();
  private final INDArray x = GradientCheck.random(22, 1.0, BATCH * TIME, config.embeddingDim());
  private final INDArray r = GradientCheck.random(23, 1.0, BATCH * TIME, config.embeddingDim());

  /** Checks {@code layer}'s gradients for {@code names} of {@code p} and its input. */
  private static void assertLayerGradients(TokenLayer layer, GptParameters p, INDArray input, INDArray r,
      int samples, long seed, String... names) {
    GptParameters g = p.zerosLike();
    layer.forward(p, input);
    INDArray dx = layer.backward(p, g, r).dup();
    Map<String, INDArray> values = new LinkedHashMap<>();
    Map<String, INDArray> analytic = new LinkedHashMap<>();
    for (String name : names) {
      values.put(name, p.get(name));
      analytic.put(name, g.get(name));
    }
    values.put("input", input);
    analytic.put("input", dx);
    GradientCheck.assertGradients(values, analytic, () -> layer.forward(p, input).mul(r).sumNumber().doubleValue(),
        samples, seed);
  }

  @Test
  void rmsNormGradients() {
    assertLayerGradients(TokenLayer.finalNorm(config, new BufferPool()), params, x, r, 16, 24,
        ParamNames.FINAL_NORM_SCALE);
  }

  @Test
  void rmsNormDividesByTheRootMeanSquareWithEpsilon() {
    GptParameters unit = GptParameters.initialize(config, DataType.DOUBLE, 0); // scale 1
    unit.get(ParamNames.FINAL_NORM_SCALE).putScalar(15, 2.0);
    double[] row = new double[16];
    double squares = 0;
    for (int j = 0; j < 16; j++) {
      row[j] = j - 3;
      squares += row[j] * row[j];
    }
    INDArray y = TokenLayer.finalNorm(config, new BufferPool())
        .forward(unit, Nd4j.createFromArray(new double[][] {row}));
    double rms = Math.sqrt(squares / 16 + 1e-5);
    assertEquals(-3 / rms, y.getDouble(0, 0), 1e-12);
    assertEquals(2 * 12 / rms, y.getDouble(0, 15), 1e-12);
  }

  @Test
  void dynamicTanhGradientsIncludingAlpha() {
    ModelConfig dyt = GradientCheck.tinyLlama(ModelConfig.DYT, true);
    GptParameters p = GradientCheck.randomParameters(dyt, 0.4, 25);
    assertLayerGradients(TokenLayer.blockNorm(dyt, 1, false, new BufferPool()), p, x, r, 16, 26,
        ParamNames.block(1, ParamNames.NORM2_SCALE), ParamNames.block(1, ParamNames.NORM2_SHIFT),
        ParamNames.block(1, ParamNames.NORM2_ALPHA));
  }

  @Test
  void dynamicTanhIsScaledTanhPlusShiftWithAlphaInitializedToHalf() {
    ModelConfig dyt = GradientCheck.tinyLlama(ModelConfig.DYT, false);
    GptParameters p = GptParameters.initialize(dyt, DataType.DOUBLE, 0);
    assertEquals(0.5, p.get(ParamNames.FINAL_NORM_ALPHA).getDouble(0));
    p.get(ParamNames.FINAL_NORM_SCALE).putScalar(1, 3.0);
    p.get(ParamNames.FINAL_NORM_SHIFT).putScalar(1, -0.25);
    INDArray in = Nd4j.zeros(DataType.DOUBLE, 1, 16);
    in.putScalar(0, 0, 2.0);
    in.putScalar(0, 1, -1.0);
    INDArray y = TokenLayer.finalNorm(dyt, new BufferPool()).forward(p, in);
    assertEquals(Math.tanh(1.0), y.getDouble(0, 0), 1e-12);
    assertEquals(3 * Math.tanh(-0.5) - 0.25, y.getDouble(0, 1), 1e-12);
    assertEquals(0.0, y.getDouble(0, 2), 1e-12);
  }

  @Test
  void swiGluGradientsWithAndWithoutBiases() {
    assertLayerGradients(TokenLayer.feedForward(config, 0, new BufferPool()), params, x, r, 8, 27,
        ParamNames.block(0, ParamNames.FF_GATE_WEIGHT), ParamNames.block(0, ParamNames.FF_UP_WEIGHT),
        ParamNames.block(0, ParamNames.FF_DOWN_WEIGHT));
    ModelConfig biased = GradientCheck.tinyLlama(ModelConfig.RMSNORM, true);
    assertLayerGradients(TokenLayer.feedForward(biased, 1, new BufferPool()),
        GradientCheck.randomParameters(biased, 0.4, 28), x, r, 8, 29,
        ParamNames.block(1, ParamNames.FF_GATE_WEIGHT), ParamNames.block(1, ParamNames.FF_GATE_BIAS),
        ParamNames.block(1, ParamNames.FF_UP_WEIGHT), ParamNames.block(1, ParamNames.FF_UP_BIAS),
        ParamNames.block(1, ParamNames.FF_DOWN_WEIGHT), ParamNames.block(1, ParamNames.FF_DOWN_BIAS));
  }

  @Test
  void swiGluIsDownOfSiluGateTimesUp() {
    // width 1 through a 1-wide hidden layer: out = silu(a x) · (b x) · c
    ModelConfig one = new ModelConfig(3, 2, 2, 1, 1, 0, false, false, 0, ModelConfig.RMSNORM, 1e-5,
        ModelConfig.SWIGLU, 1, ModelConfig.LEARNED, null, 1, false);
    GptParameters p = GptParameters.zeros(one, DataType.DOUBLE);
    p.get(ParamNames.block(0, ParamNames.FF_GATE_WEIGHT)).assign(Nd4j.createFromArray(new double[][] {{1.5}, {0}}));
    p.get(ParamNames.block(0, ParamNames.FF_UP_WEIGHT)).assign(Nd4j.createFromArray(new double[][] {{-2}, {0}}));
    p.get(ParamNames.block(0, ParamNames.FF_DOWN_WEIGHT)).assign(Nd4j.createFromArray(new double[][] {{0.5, 1}}));
    INDArray y = TokenLayer.feedForward(one, 0, new BufferPool()).forward(p, Nd4j.createFromArray(new double[][] {
        {0.8, 9}}));
    double g = 1.5 * 0.8;
    double expected = g / (1 + Math.exp(-g)) * (-2 * 0.8);
    assertEquals(0.5 * expected, y.getDouble(0, 0), 1e-12);
    assertEquals(expected, y.getDouble(0, 1), 1e-12);
  }

  @Test
  void ropeRotatesDimensionIWithIPlusHalfByPositionTimesFrequencyAndInverts() {
    // head width 4 (emb 16 / 4 heads), θ = 10000: pair (0, 2) turns by t rad, pair (1, 3) by t / 100 rad
    RotaryEmbedding rope = new RotaryEmbedding(config);
    INDArray heads = GradientCheck.random(30, 1.0, 2, 3, 4);                                  // [G, T, D]
    INDArray rotated = heads.dup();
    rope.rotate(rotated, 2, false);                                                            // positions 2, 3, 4
    for (int g = 0; g < 2; g++) {
      for (int t = 0; t < 3; t++) {
        for (int i = 0; i < 2; i++) {
          double angle = (2 + t) * (i == 0 ? 1 : 0.01);
          double a = heads.getDouble(g, t, i);
          double b = heads.getDouble(g, t, i + 2);
          assertEquals(a * Math.cos(angle) - b * Math.sin(angle), rotated.getDouble(g, t, i), 1e-12);
          assertEquals(b * Math.cos(angle) + a * Math.sin(angle), rotated.getDouble(g, t, i + 2), 1e-12);
        }
      }
    }
    rope.rotate(rotated, 2, true);
    assertArrayEquals(heads.ravel().toDoubleVector(), rotated.ravel().toDoubleVector(), 1e-12);
  }

  @Test
  void ropeAtLlama3sTheta500000TurnsTheSecondPairByPositionOverSqrtTheta() {
    // head width 4: pair (0, 2) turns by t · 500000^0 = t rad, pair (1, 3) by t · 500000^(-1/2) rad
    // (at θ = 10000 it would be t / 100)
    RotaryEmbedding rope = new RotaryEmbedding(ModelConfig.llama(11, 8, 16, 4, 1, 4, 12, 500000.0));
    INDArray heads = GradientCheck.random(34, 1.0, 1, 8, 4);                                  // [G, T, D]
    INDArray rotated = heads.dup();
    rope.rotate(rotated, 0, false);
    for (int t = 0; t < 8; t++) {
      for (int i = 0; i < 2; i++) {
        double angle = t * (i == 0 ? 1 : 1 / Math.sqrt(500000));
        double a = heads.getDouble(0, t, i);
        double b = heads.getDouble(0, t, i + 2);
        assertEquals(a * Math.cos(angle) - b * Math.sin(angle), rotated.getDouble(0, t, i), 1e-12);
        assertEquals(b * Math.cos(angle) + a * Math.sin(angle), rotated.getDouble(0, t, i + 2), 1e-12);
      }
    }
  }

  @Test
  void attentionGradientsWithRopeGroupedQueriesAndDropout() {
    // without biases: 2 key/value heads for 4 query heads; with biases: plain multi-head attention (4 of each)
    for (boolean bias : new boolean[] {false, true}) {
      ModelConfig c = new ModelConfig(11, 6, 16, 4, 2, 0.1, bias, false, 0, ModelConfig.RMSNORM, 1e-5,
          ModelConfig.SWIGLU, 12, ModelConfig.ROPE, 10000.0, bias ? 4 : 2, bias);
      GptParameters p = GradientCheck.randomParameters(c, 0.4, 31);
      GptParameters g = p.zerosLike();
      INDArray mask = DropoutMasks.draw(c, new RandomStream(32), DataType.DOUBLE, BATCH, TIME).attention()[1];
      CausalSelfAttention attention = new CausalSelfAttention(c, 1, new BufferPool());
      attention.forward(p, x, BATCH, TIME, mask);
      INDArray dx = attention.backward(p, g, r).dup();
      String[] names = bias ? new String[] {ParamNames.QKV_WEIGHT, ParamNames.QKV_BIAS,
          ParamNames.ATTENTION_OUT_WEIGHT, ParamNames.ATTENTION_OUT_BIAS}
          : new String[] {ParamNames.QKV_WEIGHT, ParamNames.ATTENTION_OUT_WEIGHT};
      Map<String, INDArray> values = new LinkedHashMap<>();
      Map<String, INDArray> analytic = new LinkedHashMap<>();
      for (String suffix : names) {
        values.put(ParamNames.block(1, suffix), p.get(ParamNames.block(1, suffix)));
        analytic.put(ParamNames.block(1, suffix), g.get(ParamNames.block(1, suffix)));
      }
      values.put("input", x);
      analytic.put("input", dx);
      GradientCheck.assertGradients(values, analytic,
          () -> attention.forward(p, x, BATCH, TIME, mask).mul(r).sumNumber().doubleValue(), 24, 33);
    }
  }

  @Test
  void groupedQueryAttentionEqualsMultiHeadAttentionWithSharedKeyValueHeads() {
    // K = 2 key/value heads for 4 query heads = plain attention whose heads 0,1 share head 0's k/v and 2,3 head 1's
    ModelConfig mha = new ModelConfig(11, 6, 16, 4, 2, 0.1, false, false, 0, ModelConfig.RMSNORM, 1e-5,
        ModelConfig.SWIGLU, 12, ModelConfig.ROPE, 10000.0, 4, false);
    GptParameters full = GptParameters.zeros(mha, DataType.DOUBLE);
    INDArray grouped = params.get(ParamNames.block(0, ParamNames.QKV_WEIGHT));                   // [16, 16 + 2·8]
    INDArray wide = full.get(ParamNames.block(0, ParamNames.QKV_WEIGHT));                        // [16, 48]
    wide.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 16)).assign(columns(grouped, 0, 16));
    int[] source = {0, 0, 1, 1};                                                          // kv head of query head h
    for (int h = 0; h < 4; h++) {
      wide.get(NDArrayIndex.all(), NDArrayIndex.interval(16 + 4 * h, 20 + 4 * h))
          .assign(columns(grouped, 16 + 4 * source[h], 20 + 4 * source[h]));                    // keys
      wide.get(NDArrayIndex.all(), NDArrayIndex.interval(32 + 4 * h, 36 + 4 * h))
          .assign(columns(grouped, 24 + 4 * source[h], 28 + 4 * source[h]));                    // values
    }
    full.get(ParamNames.block(0, ParamNames.ATTENTION_OUT_WEIGHT))
        .assign(params.get(ParamNames.block(0, ParamNames.ATTENTION_OUT_WEIGHT)));
    INDArray expected = new CausalSelfAttention(mha, 0, new BufferPool()).forward(full, x, BATCH, TIME, null).dup();
    INDArray actual = new CausalSelfAttention(config, 0, new BufferPool()).forward(params, x, BATCH, TIME, null);
    assertArrayEquals(expected.ravel().toDoubleVector(), actual.ravel().toDoubleVector(), 1e-12);
  }

  private static INDArray columns(INDArray m, int from, int to) {
    return m.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to));
  }

  @Test
  void wholeLlamaModelGradientsWithDropoutIgnoreIndexAndWeights() {
    GptModel model = new GptModel(GradientCheck.randomParameters(config, 0.3, 34), 0);
    GptModelTest.assertModelGradients(model, new TokenBatch(GptModelTest.INPUTS, GptModelTest.TARGETS,
        GptModelTest.WEIGHTS), 35);
  }

  @Test
  void wholeDynamicTanhModelWithBiasesGradients() {
    GptModel model = new GptModel(GradientCheck.randomParameters(GradientCheck.tinyLlama(ModelConfig.DYT, true), 0.3,
        36), 0);
    GptModelTest.assertModelGradients(model, new TokenBatch(GptModelTest.INPUTS, GptModelTest.TARGETS,
        GptModelTest.WEIGHTS), 37);
  }

  @Test
  void llamaLayoutHasTheConfigsParameterCountAndNoPositionTable() {
    for (ModelConfig c : new ModelConfig[] {config, GradientCheck.tinyLlama(ModelConfig.DYT, true),
        ModelConfig.llama(32000, 4096, 4096, 32, 32, 32, 11008, 10000)}) {
      long sum = ParamNames.shapes(c).values().stream()
          .mapToLong(shape -> java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)).sum();
      assertEquals(c.parameterCount(), sum, c.toString());
    }
    assertEquals(6_738_415_616L, ModelConfig.llama(32000, 4096, 4096, 32, 32, 32, 11008, 10000).parameterCount());
    assertEquals(false, ParamNames.shapes(config).containsKey(ParamNames.POSITION_EMBEDDING));
    assertArrayEquals(new long[] {16, 32}, ParamNames.shapes(config).get(ParamNames.block(0, ParamNames.QKV_WEIGHT)));
  }
}
