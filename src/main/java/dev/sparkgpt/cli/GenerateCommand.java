package dev.sparkgpt.cli;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sparkgpt generate}: continues a prompt with a checkpoint, streaming tokens to the console. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Continue a prompt with a checkpoint (SparkGPT run/step directory or Hugging Face GPT-2/Llama "
        + "directory).")
public final class GenerateCommand implements Callable<Integer> {
  @Mixin
  GenerationOptions generation = new GenerationOptions();

  @Option(names = "--prompt", required = true, description = "Text to continue.")
  String prompt;

  @Option(names = "--stop", description = "Stop when this text appears (repeatable).")
  List<String> stops = new ArrayList<>();

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() {
    Sampler sampler = generation.sampler();
    GenerationOptions.Loaded loaded = generation.load();
    Tokenizer tok = loaded.tokenizer();
    int[] ids = tok.encodePrompt(prompt);
    if (ids.length == 0) {
      throw new ConfigException("--prompt", "the prompt is empty", "give some text to continue");
    }
    int window = loaded.model().config().contextLength();
    int maxNewTokens = generation.maxNewTokens;
    if (ids.length > window) {
      System.err.printf("generate: the prompt has %d tokens, more than the model's context of %d: the model sees only "
          + "its last %d (the window slides on as tokens are generated)%n", ids.length, window, window);
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    out.print(prompt);
    Generator generator = loaded.generator();
    Generator.Result r = generator.generate(ids, maxNewTokens, sampler, stops, text -> {
      out.print(text);
      out.flush();
    });
    out.println();
    System.err.printf("generate: %d tokens (%s)%n", r.ids().length, r.stopReason());
    return 0;
  }
}
