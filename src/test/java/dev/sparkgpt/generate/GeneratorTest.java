package dev.sparkgpt.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorTest {
  private final Tokenizer tok = Tokenizers.load("gpt2");

  /** Scores the tokens of a fixed script: after the context's length-th token comes script[length]. */
  static final class Script implements Generator.NextTokenLogits {
    final int[] script;
    final int window;
    final List<Integer> seenLengths = new ArrayList<>();

    Script(int[] script, int window) {
      this.script = script;
      this.window = window;
    }

    @Override
    public float[] next(int[] context) {
      seenLengths.add(context.length);
      float[] logits = new float[50257];
      int position = seenLengths.size() - 1;
      logits[script[Math.min(position, script.length - 1)]] = 10f;
      return logits;
    }

    @Override
    public int contextLength() {
      return window;
    }

    @Override
    public int vocabSize() {
      return 50257;
    }
  }

  @Test
  void greedyFollowsTheScoresCropsTheContextAndStopsAtEndOfText() {
    int[] words = tok.encode(" one two three four");
    int[] script = {words[0], words[1], words[2], words[3], tok.eotId(), words[0]};
    Script model = new Script(script, 3);
    StringBuilder streamed = new StringBuilder();
    Generator.Result r = new Generator(model, tok).generate(tok.encode("Count:"), 10, Sampler.greedy(), List.of(),
        streamed::append);
    assertArrayEquals(words, r.ids());
    assertEquals(" one two three four", r.text());
    assertEquals("end_of_text", r.stopReason());
    assertEquals(r.text(), streamed.toString());
    assertEquals(List.of(2, 3, 3, 3, 3), model.seenLengths, "context cropped to the window of 3");
  }

  @Test
  void stopStringsCutTheTextAndAreNeverStreamed() {
    int[] ids = tok.encode(" alpha\n### beta");
    Script model = new Script(ids, 64);
    StringBuilder streamed = new StringBuilder();
    Generator.Result r = new Generator(model, tok).generate(tok.encode("x"), 20, Sampler.greedy(), List.of("###"),
        streamed::append);
    assertEquals(" alpha\n", r.text());
    assertEquals("stop_string", r.stopReason());
    assertEquals(" alpha\n", streamed.toString());
  }

  @Test
  void multiByteCharactersAreStreamedWhole() {
    int[] ids = tok.encode(" 🎉 ok"); // the emoji spans several byte tokens
    assertTrue(ids.length > 2);
    Script model = new Script(ids, 64);
    List<String> pieces = new ArrayList<>();
    Generator.Result r = new Generator(model, tok).generate(tok.encode("x"), ids.length, Sampler.greedy(), List.of(),
        pieces::add);
    assertEquals(" 🎉 ok", r.text());
    assertTrue(pieces.stream().noneMatch(p -> p.contains("\uFFFD")), pieces.toString());
    assertEquals(" 🎉 ok", String.join("", pieces));
  }
}
