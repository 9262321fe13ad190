package dev.sparkgpt.serve;

import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.util.concurrent.atomic.AtomicInteger;

/** Generators whose pace a serve test controls, without a model. */
final class TestGenerators {
  private TestGenerators() {}

  /**
   * Sleeps {@code millis} per token and counts the tokens in {@code tokens}; answers id (context length mod 100);
   * throws {@code failure} instead when it is not null.
   */
  static Generator counting(Tokenizer tok, AtomicInteger tokens, int millis, int context, RuntimeException failure) {
    return new Generator(new Generator.NextTokenLogits() {
      @Override
      public float[] next(int[] ctx) {
        if (failure != null) {
          throw failure;
        }
        tokens.incrementAndGet();
        try {
          Thread.sleep(millis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        float[] logits = new float[tok.vocabSize()];
        logits[ctx.length % 100] = 1;
        return logits;
      }

      @Override
      public int contextLength() {
        return context;
      }

      @Override
      public int vocabSize() {
        return tok.vocabSize();
      }
    }, tok, false);
  }
}
