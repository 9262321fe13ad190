package dev.sparkgpt.generate;

import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A conversation in the instruction format the instruct finetune trains on: every turn is the template's prompt for
 * the user's text followed by the model's response; earlier turns stay in the prompt as long as prompt +
 * max_new_tokens fit the context window (the oldest go first). {@link #repl} reads lines, {@code /reset} forgets the
 * history, {@code /quit} (or end of input) ends.
 */
public final class ChatSession {
  /** One exchange. */
  public record Turn(String user, String model) {}

  private final Generator generator;
  private final Tokenizer tokenizer;
  private final InstructionTemplate template;
  private final int contextLength;
  private final int maxNewTokens;
  private final Sampler sampler;
  private final List<Turn> history = new ArrayList<>();

  public ChatSession(Generator generator, Tokenizer tokenizer, InstructionTemplate template, int contextLength,
      int maxNewTokens, Sampler sampler) {
    this.generator = generator;
    this.tokenizer = tokenizer;
    this.template = template;
    this.contextLength = contextLength;
    this.maxNewTokens = Math.min(maxNewTokens, contextLength - 1);
    this.sampler = sampler;
  }

  public List<Turn> history() {
    return List.copyOf(history);
  }

  public void reset() {
    history.clear();
  }

  /** The prompt for {@code user} after the kept history: the newest turns that fit with room for the answer. */
  public String prompt(String user) {
    return prompt(template, tokenizer, history, user, contextLength - maxNewTokens);
  }

  /**
   * The prompt for {@code user} after the newest turns of {@code history} whose tokens, with the new turn's, fit in
   * {@code budget} (the oldest turns are dropped first; the new turn always stays).
   */
  public static String prompt(InstructionTemplate template, Tokenizer tokenizer, List<Turn> history, String user,
      int budget) {
    String current = template.format(user, "");
    String prompt = current;
    for (int i = history.size() - 1; i >= 0; i--) {
      Turn t = history.get(i);
      String longer = template.format(t.user(), "") + t.model() + template.separator() + prompt;
      if (tokenizer.encodePrompt(longer).length > budget) {
        break;
      }
      prompt = longer;
    }
    return prompt;
  }

  /** Answers {@code user}, streaming the text to {@code stream} (may be null), and keeps the turn. */
  public String reply(String user, java.util.function.Consumer<String> stream) {
    int[] ids = tokenizer.encodePrompt(prompt(user));
    Generator.Result r = generator.generate(ids, maxNewTokens, sampler, template.stops(), stream);
    String answer = template.extractResponse(r.text());
    history.add(new Turn(user, answer));
    return answer;
  }

  /** The read-answer loop on {@code in}/{@code out} until /quit or end of input. */
  public void repl(Reader in, PrintStream out) {
    BufferedReader lines = new BufferedReader(in);
    out.println("chat: " + template.name() + " instruction format; type a message; /reset forgets the conversation, "
        + "/quit ends");
    try {
      while (true) {
        out.print("you> ");
        out.flush();
        String line = lines.readLine();
        if (line == null || line.strip().equals("/quit")) {
          out.println();
          return;
        }
        if (line.isBlank()) {
          continue;
        }
        if (line.strip().equals("/reset")) {
          reset();
          out.println("(conversation cleared)");
          continue;
        }
        out.print("model> ");
        reply(line.strip(), text -> {
          out.print(text);
          out.flush();
        });
        out.println();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
