package dev.sparkgpt.cli;

import dev.sparkgpt.checkpoint.Fingerprints;
import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.jobs.CheckpointTokenizer;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.train.GptStepModel;
import picocli.CommandLine.Option;

/** What generate and chat share: the checkpoint, its tokenizer, and the sampling settings. */
final class GenerationOptions {
  @Option(names = "--checkpoint", required = true, paramLabel = "DIR", description = "Run, step or HF directory.")
  String checkpoint;

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

  @Option(names = "--tokenizer", defaultValue = CheckpointTokenizer.AUTO, paramLabel = "auto|NAME|DIR",
      description = "The model's tokenizer: auto (default: the checkpoint's own), gpt2, cl100k_base, o200k_base or a"
          + " directory (tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe).")
  String tokenizer;

  @Option(names = Fingerprints.ALLOW_TOKENIZER, description = "Use --tokenizer although the checkpoint recorded "
      + "another vocabulary.")
  boolean allowTokenizerMismatch;

  @Option(names = "--no-kv-cache", description = "Score the whole window at every step (slower; for comparison).")
  boolean noKvCache;

  /**
   * A model, its tokenizer, a generator over them and the instruction format it was finetuned in (from the
   * checkpoint's state.json; Alpaca when it records none).
   */
  record Loaded(GptModel model, Tokenizer tokenizer, Generator generator, InstructionTemplate template) {}

  Sampler sampler() {
    try {
      return new Sampler(temperature, topK, topP, seed);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("sampling", e.getMessage(), "see --help for the ranges");
    }
  }

  /** Loads the checkpoint and tokenizer; refuses a tokenizer with more ids than the model has rows. */
  Loaded load() {
    return load(checkpoint, tokenizer, !noKvCache, allowTokenizerMismatch);
  }

  /**
   * Loads {@code checkpoint} with {@code tokenizer} ("auto" for the checkpoint's own, a bundled name or a directory);
   * refuses a tokenizer other than the checkpoint's (unless allowed), and a vocabulary that does not fit.
   */
  static Loaded load(String checkpoint, String tokenizer, boolean useCache, boolean allowTokenizerMismatch) {
    Tokenizer tok = CheckpointTokenizer.resolve(checkpoint, tokenizer, HadoopConf.create(), "--tokenizer",
        allowTokenizerMismatch).get();
    Checkpoint ck = Checkpoint.open(checkpoint);
    Fingerprints.checkTokenizer(ck.uri(), ck.tokenizerHash(), tok, allowTokenizerMismatch,
        Fingerprints.ALLOW_TOKENIZER);
    GptModel model = ck.model();
    if (model.config().vocabSize() < tok.vocabSize()) {
      throw new ConfigException("--tokenizer", tok.name() + " has " + tok.vocabSize() + " ids but the model only "
          + model.config().vocabSize(), "use the tokenizer the model was trained with");
    }
    InstructionTemplate template = InstructionTemplate.fromState(ck.state().orElse(null));
    return new Loaded(model, tok, new Generator(new GptStepModel(model, null).scorer(), tok, useCache), template);
  }
}
