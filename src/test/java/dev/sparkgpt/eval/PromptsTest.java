package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PromptsTest {
  private final Tokenizer gpt2 = Tokenizers.load("gpt2");

  @Test
  void theDelimiterSpaceBelongsToTheChoiceToken() {
    Request r = Prompts.encodePair(gpt2, "Question: Capital of France? Answer:", " Paris");
    assertArrayEquals(new int[] {24361, 25, 9747, 286, 4881, 30, 23998, 25}, r.context());
    assertArrayEquals(new int[] {6342}, r.continuation(), "\" Paris\" is one GPT-2 token");
  }

  @Test
  void trailingWhitespaceOfTheQueryMovesToTheContinuation() {
    // mmlu_small queries end in "\n": the harness scores "\n A", not "A" after a context ending in "\n"
    Request r = Prompts.encodePair(gpt2, "Answer:\n", " A");
    assertArrayEquals(new int[] {33706, 25}, r.context());
    assertArrayEquals(new int[] {198, 317}, r.continuation());
    Request spaced = Prompts.encodePair(gpt2, "Question: Capital of France? Answer: ", " Paris");
    assertArrayEquals(new int[] {24361, 25, 9747, 286, 4881, 30, 23998, 25}, spaced.context());
    assertArrayEquals(new int[] {220, 6342}, spaced.continuation(), "the moved space is its own token");
  }

  @Test
  void anEmptyContextBecomesTheEndOfTextToken() {
    Request r = Prompts.encodePair(gpt2, "", " yes");
    assertArrayEquals(new int[] {50256}, r.context());
    assertArrayEquals(new int[] {3763}, r.continuation());
  }

  @Test
  void contextPlusContinuationIsTheEncodingOfTheWholeTextForEveryBundledItem() {
    for (String name : new String[] {"hellaswag_small", "mmlu_small", "mmlu_full_cs", "copa"}) {
      Task task = TaskFiles.read("src/main/resources/data/eval/" + name + ".jsonl", HadoopConf.create());
      for (Task.Item it : task.items()) {
        Task.Choice item = (Task.Choice) it;
        for (String choice : item.choices()) {
          Request r = Prompts.encodePair(gpt2, item.query(), " " + choice);
          int[] joined = IntStream.concat(Arrays.stream(r.context()), Arrays.stream(r.continuation())).toArray();
          assertArrayEquals(gpt2.encode(item.query() + " " + choice), joined, name + ":" + item.line());
          assertEquals(gpt2.encode(item.query().stripTrailing()).length, r.context().length, name + ":" + item.line());
        }
      }
    }
  }
}
