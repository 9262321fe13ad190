package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.OneThread;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * GptScoringModel scores through GptModel.targetLogProbs (the LM head on the continuation rows only); the same
 * model scored the old way, from its full [B, T, V] float logits and a double log-softmax (ScoringModel's default),
 * must give the same log-probabilities and the same greedy flags.
 */
class GptScoringModelTest {
  static {
    OneThread.pin();
  }

  private static final int VOCAB = 97;
  private static final int CONTEXT = 12;

  /**
   * A float32 model with every parameter N(0, 0.25) (norm gains included): log-probabilities of −1.7 to −33 per
   * request, so the distributions are far from flat. Both paths compute float32 logits, with gemms over different row counts:
   * they differ by up to 6e-7 here, the size of the old path's own changes between batch sizes (2e-7 and more).
   */
  private static GptModel randomModel(ModelConfig config, long seed) {
    GptParameters p = GptParameters.zeros(config, DataType.FLOAT);
    SplittableRandom random = new SplittableRandom(seed);
    float[] values = new float[Math.toIntExact(p.size())];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (0.5 * random.nextGaussian());
    }
    p.vector().assign(Nd4j.createFromArray(values));
    return new GptModel(p, seed);
  }

  private static int[] randomIds(SplittableRandom random, int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = random.nextInt(VOCAB);
    }
    return ids;
  }

  /** The {@code n} tokens greedy decoding produces after {@code context}. */
  private static int[] greedyContinuation(GptModel model, int[] context, int n) {
    int[] tokens = context.clone();
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = LogLikelihood.argmax(model.nextLogits(tokens));
      tokens = java.util.Arrays.copyOf(tokens, tokens.length + 1);
      tokens[tokens.length - 1] = out[i];
    }
    return out;
  }

  /**
   * Multiple-choice-like requests (short and cut-from-the-left long contexts, 1–4 continuation tokens, two that greedy
   * decoding produces) and perplexity windows (stride 5: most positions of a row scored).
   */
  private static List<Request> requests(GptModel model) {
    SplittableRandom random = new SplittableRandom(7);
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      requests.add(new Request(randomIds(random, 1 + random.nextInt(CONTEXT + 6)), randomIds(random,
          1 + random.nextInt(4))));
    }
    int[] shortContext = {5, 9};
    int[] longContext = randomIds(random, CONTEXT + 3);
    requests.add(new Request(shortContext, greedyContinuation(model, shortContext, 3)));
    requests.add(new Request(longContext, greedyContinuation(model, java.util.Arrays.copyOfRange(longContext,
        longContext.length - CONTEXT, longContext.length), 1)));
    requests.addAll(Perplexity.windows(randomIds(random, 30), 30, CONTEXT, 5));
    return requests;
  }

  private static void assertSameScores(ModelConfig config) {
    GptModel gpt = randomModel(config, 3);
    GptScoringModel model = new GptScoringModel(gpt);
    List<Request> requests = requests(gpt);
    for (int batchSize : new int[] {1, 4, requests.size()}) {
      Score[] expected = new LocalRunner(new TestModels.LogitsOnly(model), batchSize).score(requests);
      Score[] actual = new LocalRunner(model, batchSize).score(requests);
      int greedy = 0;
      for (int i = 0; i < requests.size(); i++) {
        assertEquals(expected[i].logProb(), actual[i].logProb(), 1e-6, "request " + i + ", batch " + batchSize);
        assertEquals(expected[i].greedy(), actual[i].greedy(), "request " + i + ", batch " + batchSize);
        greedy += actual[i].greedy() ? 1 : 0;
      }
      assertTrue(actual[8].greedy() && actual[9].greedy(), "the greedy continuations are greedy");
      assertTrue(greedy < requests.size(), "some requests are not greedy: " + greedy);
    }
    assertTrue(new LocalRunner(model, 4).score(requests)[0].logProb() < -1, "far from flat distributions");
  }

  @Test
  void gpt2ScoresEqualThoseFromTheFullLogits() {
    assertSameScores(new ModelConfig(VOCAB, CONTEXT, 16, 2, 2, 0.0, true, true));
  }

  @Test
  void llamaScoresEqualThoseFromTheFullLogits() {
    assertSameScores(ModelConfig.llama(VOCAB, CONTEXT, 16, 4, 2, 2, 24, 10000.0));
  }
}
