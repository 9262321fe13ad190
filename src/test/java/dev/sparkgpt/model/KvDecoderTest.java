package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptStepModel;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The key/value-cache decoder computes the same function as the full forward pass. */
class KvDecoderTest {
  @BeforeAll
  static void oneThread() {
    OneThread.pin();
  }

  private static GptModel model(boolean bias) {
    return GptModel.initialize(new ModelConfig(50257, 24, 32, 4, 2, 0.1, bias, true), DataType.FLOAT, 7);
  }

  @Test
  void prefillThenOneTokenAtATimeGivesTheFullForwardsLogits() {
    for (boolean bias : new boolean[] {false, true}) {
      GptModel m = model(bias);
      int[] ids = new Random(3).ints(20, 0, 50257).toArray();
      INDArray full = m.logits(new int[][] {ids});                                                // [1, 20, V]
      KvDecoder decoder = m.decoder();
      float[] prefill = decoder.append(java.util.Arrays.copyOf(ids, 8));
      assertArrayEquals(row(full, 7), prefill, 1e-5f, "after the 8-token prefill");
      for (int t = 8; t < ids.length; t++) {
        float[] step = decoder.append(new int[] {ids[t]});
        assertArrayEquals(row(full, t), step, 1e-5f, "position " + t + " (qkv_bias " + bias + ")");
      }
      assertEquals(20, decoder.length());
      decoder.reset();
      assertArrayEquals(row(full, 2), decoder.append(java.util.Arrays.copyOf(ids, 3)), 1e-5f, "after reset");
    }
  }

  @Test
  void llamaPrefillThenOneTokenAtATimeRotatesAtTheCachedOffset() {
    // RoPE + grouped-query attention (4 query heads on 2 cached key/value heads), RMSNorm or DyT, SwiGLU: random
    // weights (std 0.3) so that every layer matters; the cache must rotate each new key at its absolute position
    for (String norm : new String[] {ModelConfig.RMSNORM, ModelConfig.DYT}) {
      ModelConfig config = new ModelConfig(300, 24, 32, 4, 2, 0.0, false, false, 0, norm, 1e-5, ModelConfig.SWIGLU,
          40, ModelConfig.ROPE, 10000.0, 2, false);
      GptParameters p = GradientCheck.randomParameters(config, 0.3, 5).copy(DataType.FLOAT);
      GptModel m = new GptModel(p, 0);
      int[] ids = new Random(4).ints(20, 0, 300).toArray();
      INDArray full = m.logits(new int[][] {ids});
      KvDecoder decoder = m.decoder();
      assertArrayEquals(row(full, 5), decoder.append(java.util.Arrays.copyOf(ids, 6)), 1e-4f, norm + " prefill");
      for (int t = 6; t < ids.length; t++) {
        assertArrayEquals(row(full, t), decoder.append(new int[] {ids[t]}), 1e-4f, norm + " position " + t);
      }
      // the same token at another offset gives other logits: the position is in the keys, not in an embedding
      decoder.reset();
      float[] atZero = decoder.append(new int[] {ids[0]});
      decoder.append(new int[] {ids[1]});
      assertTrue(!java.util.Arrays.equals(atZero, decoder.append(new int[] {ids[0]})), "position-dependent");
    }
  }

  @Test
  void theHostStepAndTheNd4jStepComputeTheSameLogits() {
    // the single-token step runs on BLAS gemv + Java loops for float32 on the CPU backend, on ND4J ops elsewhere
    GptModel gpt2 = model(true);
    GptModel llama = new GptModel(GradientCheck.randomParameters(new ModelConfig(300, 24, 32, 4, 2, 0.0, false, false,
        0, ModelConfig.RMSNORM, 1e-5, ModelConfig.SWIGLU, 40, ModelConfig.ROPE, 10000.0, 2, false), 0.3, 5)
        .copy(DataType.FLOAT), 0);
    GptModel dyt = new GptModel(GradientCheck.randomParameters(new ModelConfig(300, 24, 32, 4, 2, 0.0, true, true, 0,
        ModelConfig.DYT, 1e-5, ModelConfig.GELU, 128, ModelConfig.LEARNED, 10000.0, 4, true), 0.3, 6)
        .copy(DataType.FLOAT), 0);
    for (GptModel m : List.of(gpt2, llama, dyt)) {
      KvDecoder host = new KvDecoder(m.parameters(), true);
      KvDecoder ops = new KvDecoder(m.parameters(), false);
      int vocab = m.config().vocabSize();
      int[] ids = new Random(11).ints(24, 0, vocab).toArray();
      assertArrayEquals(ops.append(java.util.Arrays.copyOf(ids, 4)), host.append(java.util.Arrays.copyOf(ids, 4)));
      for (int t = 4; t < ids.length; t++) {                                         // up to a full window
        float[] expected = ops.append(new int[] {ids[t]});
        float[] actual = host.append(new int[] {ids[t]});
        for (int v = 0; v < vocab; v++) {
          assertEquals(expected[v], actual[v], 2e-5 * Math.max(1, Math.abs(expected[v])),
              m.config().norm() + " position " + t + " id " + v);
        }
      }
    }
  }

  @Test
  void greedyOutputIsIdenticalWithAndWithoutTheCacheAcrossTheWindow() {
    assertCachedGenerationEqualsPlain(model(true));
  }

  @Test
  void llamaGreedyOutputIsIdenticalWithAndWithoutTheCacheAcrossTheWindow() {
    ModelConfig llama = ModelConfig.llama(50257, 24, 32, 4, 2, 2, 48, 10000);
    assertCachedGenerationEqualsPlain(new GptModel(GradientCheck.randomParameters(llama, 0.2, 8).copy(
        DataType.FLOAT), 0));
  }

  private static void assertCachedGenerationEqualsPlain(GptModel m) {
    Tokenizer tok = Tokenizers.load("gpt2");
    Generator.NextTokenLogits scorer = new GptStepModel(m, null).scorer();
    int[] prompt = tok.encode("Every effort moves you");
    // 60 new tokens with a 24-token window: the window slides for the last 40
    Generator.Result cached = new Generator(scorer, tok, true).generate(prompt, 60, new Sampler(0, 0, 1, 1),
        List.of(), null);
    Generator.Result plain = new Generator(scorer, tok, false).generate(prompt, 60, new Sampler(0, 0, 1, 1),
        List.of(), null);
    assertTrue(cached.ids().length >= 40, "generated " + cached.ids().length);
    assertArrayEquals(plain.ids(), cached.ids());
    assertEquals(plain.text(), cached.text());
    // sampling with a seed too
    assertArrayEquals(new Generator(scorer, tok, false).generate(prompt, 30, new Sampler(0.8, 50, 0.95, 9),
        List.of(), null).ids(), new Generator(scorer, tok, true).generate(prompt, 30, new Sampler(0.8, 50, 0.95, 9),
        List.of(), null).ids());
  }

  private static float[] row(INDArray logits, int t) {
    return logits.get(NDArrayIndex.point(0), NDArrayIndex.point(t), NDArrayIndex.all()).castTo(DataType.FLOAT)
        .toFloatVector();
  }
}
