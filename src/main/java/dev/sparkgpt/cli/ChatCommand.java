package dev.sparkgpt.cli;

import dev.sparkgpt.generate.ChatSession;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sparkgpt chat}: a conversation with an instruction-finetuned checkpoint in the format it was finetuned in
 * (its state.json's template; Alpaca for checkpoints that record none).
 */
@Command(name = "chat", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Chat with a checkpoint in its instruction format (the instruct finetune's data.template; Alpaca "
        + "if none is recorded); /reset, /quit; history kept within the context window.")
public final class ChatCommand implements Callable<Integer> {
  @Mixin
  GenerationOptions generation = new GenerationOptions();

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() {
    if (generation.maxNewTokens == 50) {
      generation.maxNewTokens = 128; // a chat answer is longer than generate's default continuation
    }
    GenerationOptions.Loaded loaded = generation.load();
    new ChatSession(loaded.generator(), loaded.tokenizer(), loaded.template(),
        loaded.model().config().contextLength(), generation.maxNewTokens, generation.sampler())
        .repl(new InputStreamReader(System.in, StandardCharsets.UTF_8),
            new PrintStream(System.out, true, StandardCharsets.UTF_8));
    return 0;
  }
}
