package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TaskEvaluationTest {
  private static final Tokenizer GPT2 = Tokenizers.load("gpt2");
  private static final int YES = 3763;   // " yes"
  private static final int NO = 645;     // " no"
  private static final int MAYBE = 3863; // " maybe"
  private static final int OTHER = 584;  // " other"

  /**
   * Whatever the context: p(" yes") = 1/2, p(" no") = 1/4, p(" maybe") = 1/8, p(" other") = 1/8. Per UTF-8 byte of
   * the choice: yes ln(1/2)/3 = −0.231, maybe ln(1/8)/5 = −0.416, no ln(1/4)/2 = −0.693. So raw log-likelihood
   * ranks yes > no > maybe, the length-normalised one yes > maybe > no.
   */
  private static final ScoringModel MODEL = new TestModels.Unigram(50257, 64,
      Map.of(YES, 0.5, NO, 0.25, MAYBE, 0.125, OTHER, 0.125));

  private static Task.Choice item(int line, String query, int gold, String... choices) {
    return new Task.Choice(line, query, List.of(choices), gold);
  }

  private static Task choiceTask() {
    return new Task("toy", "toy.jsonl", Task.Kind.MULTIPLE_CHOICE, List.of(
        item(1, "Q1", 0, "yes", "no"),      // acc right (yes),  acc_norm right (yes)
        item(2, "Q2", 1, "no", "maybe"),    // acc wrong (no),   acc_norm right (maybe)
        item(3, "Q3", 0, "no", "maybe"),    // acc right (no),   acc_norm wrong (maybe)
        item(4, "Q4", 0, "maybe", "yes"),   // acc wrong (yes),  acc_norm wrong (yes)
        item(5, "Q5", 0, "maybe", "no")));  // acc wrong (no),   acc_norm right (maybe)
  }

  /** Remembers the requests it scored. */
  private static final class Recording implements RequestRunner {
    final RequestRunner inner = new LocalRunner(MODEL, 3);
    final List<Request> seen = new ArrayList<>();

    @Override
    public Score[] score(List<Request> requests) {
      seen.addAll(requests);
      return inner.score(requests);
    }

    @Override
    public Tally tally() {
      return inner.tally();
    }
  }

  @Test
  void accuracyAndLengthNormalisedAccuracyAreWhatTheHandCountSays() {
    for (String choice : new String[] {" yes", " no", " maybe"}) {
      assertEquals(1, GPT2.encode(choice).length, choice + " is one token");
    }
    TaskResult r = TaskEvaluation.evaluate(choiceTask(), -1, 0, 1234, GPT2, new LocalRunner(MODEL, 3));
    assertEquals(5, r.n());
    assertEquals(10, r.requests());
    assertEquals(2.0 / 5, r.acc());
    assertEquals(3.0 / 5, r.accNorm());
    assertEquals(Math.sqrt(0.4 * 0.6 / 4), r.accStderr());
    assertEquals(Math.sqrt(0.6 * 0.4 / 4), r.accNormStderr());
    assertNull(r.perplexity());
    assertEquals("multiple_choice", r.kind());
    assertEquals(0, r.numFewshot());
  }

  @Test
  void accNormDividesByCharactersAsTheHarnessAndAccBytesByUtf8Bytes() {
    // " café" is one token (40304): 4 characters, 5 UTF-8 bytes. ll(café) = ln .27 = −1.309, ll(maybe) = ln .2 =
    // −1.609. Per character (the harness's Python len) −0.327 vs −0.322 → maybe; per byte: −0.262 vs −0.322 → café.
    assertEquals(1, GPT2.encode(" café").length);
    ScoringModel model = new TestModels.Unigram(50257, 64, Map.of(40304, 0.27, MAYBE, 0.2, OTHER, 0.53));
    Task task = new Task("t", "t.jsonl", Task.Kind.MULTIPLE_CHOICE, List.of(item(1, "Q", 0, "café", "maybe")));
    TaskResult r = TaskEvaluation.evaluate(task, -1, 0, 1234, GPT2, new LocalRunner(model, 2));
    assertEquals(1.0, r.acc());
    assertEquals(0.0, r.accNorm());
    assertEquals(1.0, r.accBytes());
  }

  @Test
  void limitScoresTheFirstItemsOnly() {
    TaskResult r = TaskEvaluation.evaluate(choiceTask(), 2, 0, 1234, GPT2, new LocalRunner(MODEL, 3));
    assertEquals(2, r.n());
    assertEquals(0.5, r.acc());
    assertEquals(1.0, r.accNorm());
    assertEquals(Math.sqrt(0.25), r.accStderr());
    assertEquals(0.0, r.accNormStderr());
    assertThrows(IllegalArgumentException.class,
        () -> TaskEvaluation.evaluate(choiceTask(), 0, 0, 1234, GPT2, new LocalRunner(MODEL, 3)));
  }

  @Test
  void fewShotContextsHoldOtherItemsSolvedThenTheQuery() {
    Recording runner = new Recording();
    TaskResult r = TaskEvaluation.evaluate(choiceTask(), -1, 2, 1234, GPT2, runner);
    assertEquals(2.0 / 5, r.acc(), "a unigram model ignores the context");
    assertEquals(2, r.numFewshot());
    FewShot fewShot = new FewShot(choiceTask(), 2, 1234);
    for (int i = 0; i < 5; i++) {
      String prefix = fewShot.prefix(i);
      Task.Choice item = (Task.Choice) choiceTask().items().get(i);
      assertEquals(-1, prefix.indexOf(item.query()), "item " + i + " is not among its own examples: " + prefix);
      for (int c = 0; c < 2; c++) {
        Request request = runner.seen.get(2 * i + c);
        assertEquals(prefix + item.query(), GPT2.decode(request.context()));
        assertEquals(" " + item.choices().get(c), GPT2.decode(request.continuation()));
      }
    }
  }

  @Test
  void lastWordIsRightOnlyWhenGreedyDecodingGivesIt() {
    Task task = new Task("lambada_toy", "lambada_toy.jsonl", Task.Kind.LAST_WORD, List.of(
        new Task.LastWord(1, "the answer is", "yes"),  // " yes" is the argmax: right
        new Task.LastWord(2, "the answer is", "no"),   // wrong
        new Task.LastWord(3, "we all say", "yes")));   // right
    TaskResult r = TaskEvaluation.evaluate(task, -1, 0, 1234, GPT2, new LocalRunner(MODEL, 2));
    assertEquals(3, r.n());
    assertEquals(2.0 / 3, r.acc());
    assertEquals(Math.sqrt((2.0 / 3) * (1.0 / 3) / 2), r.accStderr(), 1e-15);
    // exp(−mean ln p) = exp((ln 2 + ln 4 + ln 2) / 3) = 2^(4/3); float32 logits: 1e-6
    assertEquals(Math.pow(2, 4.0 / 3), r.perplexity(), 1e-6);
    assertNull(r.accNorm());
    assertEquals("last_word", r.kind());
  }

  @Test
  void stderrIsTheHarnessMeanStderr() {
    // sample std of 0/1 scores / sqrt(n): 3 ones, 1 zero → std = sqrt(0.75 * 0.25 * 4 / 3), / 2
    assertEquals(Math.sqrt(0.75 * 0.25 * 4 / 3) / 2, TaskResult.meanStderr(3, 4), 1e-15);
    assertNull(TaskResult.meanStderr(1, 1));
  }

  @Test
  void winograndeScoresTheSharedContinuationAfterEachFilledInContext() {
    String row = "{\"sentence\": \"The trophy did not fit in the suitcase because the _ was too big.\", "
        + "\"option1\": \"trophy\", \"option2\": \"suitcase\", \"answer\": \"%s\"}";
    int trophy = GPT2.encode(" trophy")[0];
    int was = GPT2.encode(" was")[0];
    // the token after " trophy" is " was" by far; after anything else every id is equally likely
    ScoringModel model = new ScoringModel() {
      @Override
      public int contextLength() {
        return 64;
      }

      @Override
      public int vocabSize() {
        return 50257;
      }

      @Override
      public float[][][] logits(int[][] ids) {
        float[][][] out = new float[ids.length][ids[0].length][50257];
        for (int b = 0; b < ids.length; b++) {
          for (int t = 0; t < ids[b].length; t++) {
            if (ids[b][t] == trophy) {
              out[b][t][was] = 8;
            }
          }
        }
        return out;
      }
    };
    for (String answer : new String[] {"1", "2"}) {
      Task.Item item = TaskFiles.parse("wino.jsonl", 1, row.formatted(answer));
      Task.Partial partial = (Task.Partial) item;
      assertEquals(List.of("The trophy did not fit in the suitcase because the trophy",
          "The trophy did not fit in the suitcase because the suitcase"), partial.contexts());
      assertEquals("was too big.", partial.continuation());
      Task task = new Task("wino", "wino.jsonl", Task.Kind.PARTIAL_CHOICE, List.of(item));
      TaskEvaluation.Evaluated e = TaskEvaluation.evaluateWithSamples(task, -1, 0, 1, GPT2, new LocalRunner(model, 2));
      assertEquals(answer.equals("1") ? 1.0 : 0.0, e.result().acc(), "answer " + answer);
      assertNull(e.result().accNorm(), "one continuation for every choice: nothing to normalise");
      assertEquals(2, e.result().requests());
      assertEquals(" was too big.", e.samples().get(0).arguments().get("gen_args_1").get("arg_1"));
    }
  }
}
