package dev.sparkgpt.cli;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.model.ModelLoader;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.train.GptStepModel;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparkgpt generate}: continues a prompt with a checkpoint, streaming tokens to the console. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Continue a prompt with a checkpoint (SparkGPT run/step directory or Hugging Face GPT-2).")
public final class GenerateCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", required = true, paramLabel = "DIR", description = "Run, step or HF directory.")
  String checkpoint;

  @Option(names = "--prompt", required = true, description = "Text to continue.")
  String prompt;

  @Option(names = "--max-new-tokens", defaultValue = "50", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
  int maxNewTokens;

  @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(names = "--top-k", defaultValue = "0", description = "Sample among the k most likely (0 = all).")
  int topK;

  @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling mass (1 = off).")
  double topP;

  @Option(names = "--seed", defaultValue = "123", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--stop", description = "Stop when this text appears (repeatable).")
  List<String> stops = new ArrayList<>();

  @Option(names = "--tokenizer", defaultValue = "gpt2", paramLabel = "gpt2|DIR", description = "The model's tokenizer.")
  String tokenizer;

  @Option(names = "--no-kv-cache", description = "Score the whole window at every step (slower; for comparison).")
  boolean noKvCache;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() {
    Sampler sampler;
    try {
      sampler = new Sampler(temperature, topK, topP, seed);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("generate", e.getMessage(), "see sparkgpt generate --help");
    }
    Tokenizer tok = TokenizerSpec.resolve(tokenizer, HadoopConf.create()).get();
    ModelLoader.Loaded loaded = ModelLoader.load(checkpoint);
    if (loaded.model().config().vocabSize() < tok.vocabSize()) {
      throw new ConfigException("--tokenizer", tok.name() + " has " + tok.vocabSize() + " ids but the model only "
          + loaded.model().config().vocabSize(), "use the tokenizer the model was trained with");
    }
    int[] ids = tok.encode(prompt);
    if (ids.length == 0) {
      throw new ConfigException("--prompt", "the prompt is empty", "give some text to continue");
    }
    int window = loaded.model().config().contextLength();
    if (ids.length >= window) {
      System.err.printf("generate: the prompt has %d tokens, the model's context %d: only the last %d are used%n",
          ids.length, window, window - 1);
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    out.print(prompt);
    Generator generator = new Generator(new GptStepModel(loaded.model(), null).scorer(), tok, !noKvCache);
    Generator.Result r = generator.generate(ids, maxNewTokens, sampler, stops, text -> {
      out.print(text);
      out.flush();
    });
    out.println();
    System.err.printf("generate: %d tokens (%s)%n", r.ids().length, r.stopReason());
    return 0;
  }
}
