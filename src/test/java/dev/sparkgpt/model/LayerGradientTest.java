package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Finite-difference gradient checks (float64, {@link GradientCheck}) of each layer of the explicit model, on the
 * loss Σ output ⊙ R for a fixed random R, with respect to its parameters and its input.
 */
class LayerGradientTest {
  static {
    OneThread.pin();
  }

  private static final int BATCH = 2;
  private static final int TIME = 5;
  private final ModelConfig config = GradientCheck.tinyConfig(true, true);
  private final GptParameters params = GradientCheck.randomParameters(config, 0.4, 1);
  private final GptParameters grads = params.zerosLike();
  private final INDArray x = GradientCheck.random(2, 1.0, BATCH * TIME, config.embeddingDim());
  private final INDArray r = GradientCheck.random(3, 1.0, BATCH * TIME, config.embeddingDim());

  private Map<String, INDArray> named(INDArray input, String... names) {
    Map<String, INDArray> map = new LinkedHashMap<>();
    for (String name : names) {
      map.put(name, params.get(name));
    }
    map.put("input", input);
    return map;
  }

  private Map<String, INDArray> gradients(INDArray dInput, String... names) {
    Map<String, INDArray> map = new LinkedHashMap<>();
    for (String name : names) {
      map.put(name, grads.get(name));
    }
    map.put("input", dInput);
    return map;
  }

  @Test
  void layerNormGradients() {
    LayerNorm norm = new LayerNorm(ParamNames.FINAL_NORM_SCALE, ParamNames.FINAL_NORM_SHIFT, new BufferPool());
    norm.forward(params, x);
    INDArray dx = norm.backward(params, grads, r);
    String[] names = {ParamNames.FINAL_NORM_SCALE, ParamNames.FINAL_NORM_SHIFT};
    GradientCheck.assertGradients(named(x, names), gradients(dx, names),
        () -> norm.forward(params, x).mul(r).sumNumber().doubleValue(), 8, 4);
  }

  @Test
  void layerNormNormalizesEachTokenWithEpsilon() {
    LayerNorm norm = new LayerNorm(ParamNames.FINAL_NORM_SCALE, ParamNames.FINAL_NORM_SHIFT, new BufferPool());
    GptParameters unit = GptParameters.initialize(config, DataType.DOUBLE, 0); // scale 1, shift 0
    INDArray row = Nd4j.createFromArray(new double[][] {{1, 2, 3, 4, 5, 6, 7, 8}});
    INDArray y = norm.forward(unit, row);
    double variance = 5.25; // biased variance of 1..8
    assertEquals((1 - 4.5) / Math.sqrt(variance + 1e-5), y.getDouble(0, 0), 1e-12);
    assertEquals((8 - 4.5) / Math.sqrt(variance + 1e-5), y.getDouble(0, 7), 1e-12);
  }

  @Test
  void feedForwardGradients() {
    FeedForward ff = new FeedForward(0, new BufferPool());
    ff.forward(params, x);
    INDArray dx = ff.backward(params, grads, r);
    String[] names = {ParamNames.block(0, ParamNames.FF_UP_WEIGHT), ParamNames.block(0, ParamNames.FF_UP_BIAS),
        ParamNames.block(0, ParamNames.FF_DOWN_WEIGHT), ParamNames.block(0, ParamNames.FF_DOWN_BIAS)};
    GradientCheck.assertGradients(named(x, names), gradients(dx, names),
        () -> ff.forward(params, x).mul(r).sumNumber().doubleValue(), 8, 5);
  }

  @Test
  void geluIsTheTanhApproximation() {
    // GELU(h) = 0.5 h (1 + tanh(√(2/π)(h + 0.044715 h³))): with W_up = I, b = 0 the hidden layer is GELU(x).
    ModelConfig one = new ModelConfig(3, 2, 1, 1, 1, 0, false, true);
    GptParameters p = GptParameters.zeros(one, DataType.DOUBLE);
    p.get(ParamNames.block(0, ParamNames.FF_UP_WEIGHT)).assign(Nd4j.createFromArray(new double[][] {{1, 0, 0, 0}}));
    p.get(ParamNames.block(0, ParamNames.FF_DOWN_WEIGHT)).assign(Nd4j.createFromArray(new double[][] {{1}, {0}, {0},
        {0}}));
    FeedForward ff = new FeedForward(0, new BufferPool());
    double[] inputs = {-3, -1, 0, 0.5, 1, 2.5};
    double[] expected = {-0.0036373920817729943, -0.15880800939172324, 0, 0.34571400982514394, 0.8411919906082768,
        2.484915733910001}; // the formula in float64 (Python math), = PyTorch gelu(approximate="tanh")
    for (int i = 0; i < inputs.length; i++) {
      double y = ff.forward(p, Nd4j.createFromArray(new double[][] {{inputs[i]}})).getDouble(0, 0);
      assertEquals(expected[i], y, 1e-12, "GELU(" + inputs[i] + ")");
    }
  }

  @Test
  void attentionGradientsWithCausalMask() {
    CausalSelfAttention attention = new CausalSelfAttention(config, 1, new BufferPool());
    attention.forward(params, x, BATCH, TIME, null);
    INDArray dx = attention.backward(params, grads, r);
    String[] names = attentionNames(1);
    GradientCheck.assertGradients(named(x, names), gradients(dx, names),
        () -> attention.forward(params, x, BATCH, TIME, null).mul(r).sumNumber().doubleValue(), 8, 6);
  }

  @Test
  void attentionGradientsWithDropoutOnTheWeights() {
    ModelConfig dropHalf = new ModelConfig(11, 6, 8, 2, 2, 0.5, true, true);
    INDArray mask = DropoutMasks.draw(dropHalf, new RandomStream(7), DataType.DOUBLE, BATCH, TIME).attention()[0];
    assertTrue(mask.eq(0).castTo(DataType.INT32).sumNumber().intValue() > 0, "some weights dropped");
    CausalSelfAttention attention = new CausalSelfAttention(config, 0, new BufferPool());
    attention.forward(params, x, BATCH, TIME, mask);
    INDArray dx = attention.backward(params, grads, r);
    String[] names = attentionNames(0);
    GradientCheck.assertGradients(named(x, names), gradients(dx, names),
        () -> attention.forward(params, x, BATCH, TIME, mask).mul(r).sumNumber().doubleValue(), 8, 7);
  }

  @Test
  void attentionIsCausal() {
    CausalSelfAttention attention = new CausalSelfAttention(config, 0, new BufferPool());
    INDArray before = attention.forward(params, x, BATCH, TIME, null).dup();
    INDArray changed = x.dup();
    changed.getRow(TIME - 1).addi(10);                 // last token of sequence 0
    changed.getRow(TIME + 2).addi(10);                 // third token of sequence 1
    INDArray after = attention.forward(params, changed, BATCH, TIME, null);
    for (int row = 0; row < BATCH * TIME; row++) {
      boolean unaffected = row < TIME - 1 || (row >= TIME && row < TIME + 2);
      assertEquals(unaffected, before.getRow(row).equals(after.getRow(row)), "row " + row);
    }
  }

  @Test
  void blockGradientsWithDropout() {
    DropoutMasks masks = DropoutMasks.draw(config, new RandomStream(8), DataType.DOUBLE, BATCH, TIME);
    TransformerBlock block = new TransformerBlock(config, 1, new BufferPool());
    block.forward(params, x, BATCH, TIME, masks, 1);
    INDArray dx = block.backward(params, grads, r);
    String[] names = params.names().stream().filter(n -> n.startsWith(ParamNames.block(1, ""))).toArray(String[]::new);
    assertEquals(12, names.length);
    GradientCheck.assertGradients(named(x, names), gradients(dx, names),
        () -> block.forward(params, x, BATCH, TIME, masks, 1).mul(r).sumNumber().doubleValue(), 3, 8);
  }

  @Test
  void embeddingGradientsWithRepeatedIdsAndDropout() {
    int[][] ids = {{3, 1, 3, 10, 0}, {1, 1, 7, 3, 2}};
    DropoutMasks masks = DropoutMasks.draw(config, new RandomStream(9), DataType.DOUBLE, BATCH, TIME);
    Embeddings embeddings = new Embeddings(new BufferPool());
    embeddings.forward(params, ids, masks.embedding());
    embeddings.backward(grads, r.dup()); // backward scales its argument in place
    String[] names = {ParamNames.TOKEN_EMBEDDING, ParamNames.POSITION_EMBEDDING};
    Map<String, INDArray> values = new LinkedHashMap<>();
    Map<String, INDArray> analytic = new LinkedHashMap<>();
    for (String name : names) {
      values.put(name, params.get(name));
      analytic.put(name, grads.get(name));
    }
    GradientCheck.assertGradients(values, analytic,
        () -> embeddings.forward(params, ids, masks.embedding()).mul(r).sumNumber().doubleValue(), 88, 9);
    assertEquals(0.0, grads.get(ParamNames.TOKEN_EMBEDDING).getRow(4).amaxNumber().doubleValue(), "unused id 4");
    assertEquals(0.0, grads.get(ParamNames.POSITION_EMBEDDING).getRow(5).amaxNumber().doubleValue(), "position 5");
  }

  private static String[] attentionNames(int layer) {
    return new String[] {ParamNames.block(layer, ParamNames.QKV_WEIGHT), ParamNames.block(layer, ParamNames.QKV_BIAS),
        ParamNames.block(layer, ParamNames.ATTENTION_OUT_WEIGHT), ParamNames.block(layer, ParamNames.ATTENTION_OUT_BIAS)};
  }
}
