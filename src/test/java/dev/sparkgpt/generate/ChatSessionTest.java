package dev.sparkgpt.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptStepModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** The chat loop on a small random model: prompts in the Alpaca format, history within the window, /reset. */
class ChatSessionTest {
  private static final Tokenizer TOK = Tokenizers.load("gpt2");

  private static ChatSession session(int context, int maxNew) {
    GptModel model = GptModel.initialize(new ModelConfig(50257, context, 16, 2, 1, 0, false, true), DataType.FLOAT, 3);
    return new ChatSession(new Generator(new GptStepModel(model, null).scorer(), TOK), TOK,
        InstructionTemplate.ALPACA, context, maxNew, new Sampler(0, 0, 1, 1));
  }

  @Test
  void historyStaysInThePromptWhileItFitsAndTheOldestGoesFirst() {
    ChatSession chat = session(256, 8);
    String first = chat.reply("Name a colour.", null);
    assertEquals(InstructionTemplate.ALPACA.format("Name a colour.", "") + first + "\n\n"
        + InstructionTemplate.ALPACA.format("And another?", ""), chat.prompt("And another?"));
    chat.reply("And another?", null);
    assertEquals(2, chat.history().size());

    ChatSession small = session(96, 8);   // room for one turn and the next question only
    small.reply("Name a colour.", null);
    small.reply("And another?", null);
    String prompt = small.prompt("One more?");
    assertTrue(TOK.encode(prompt).length <= 96 - 8, "prompt fits with room for the answer");
    assertFalse(prompt.contains("Name a colour."), "the oldest turn went first: " + prompt);
    assertTrue(prompt.endsWith(InstructionTemplate.ALPACA.format("One more?", "")));
  }

  @Test
  void replAnswersStreamsResetsAndQuits() {
    ChatSession chat = session(256, 6);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    chat.repl(new StringReader("hello there\n\n/reset\nwhat now?\n/quit\nnever read\n"),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("(conversation cleared)"), out);
    assertEquals(2, out.split("model> ", -1).length - 1, "two answers: " + out);
    assertEquals(List.of("what now?"), chat.history().stream().map(ChatSession.Turn::user).toList(),
        "/reset forgot the first turn; /quit stopped before the last line");
  }
}
