package dev.sparkgpt.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Settings of an instruction finetune (the book's chapter 7, conf/finetune/alpaca.yaml): Alpaca-style entries
 * formatted with the Alpaca template (or another: data.template), trained as a language model on prompt + response (+ end-of-text), then the
 * test split's responses generated into responses.jsonl for the judge.
 *
 * @param outDir run directory: metrics.jsonl, responses.jsonl, step-NNNNNN/ checkpoints (one per epoch), latest
 * @param baseCheckpoint a SparkGPT run/step directory, a Hugging Face GPT-2/Llama directory, or "random"
 * @param modelName for "random": a preset in conf/model/ (or a model YAML)
 * @param model for "random": overrides of the preset's keys
 * @param data the instruction entries
 * @param train the loop
 * @param optimizer AdamW (min_lr unused: a constant learning rate, as the book)
 * @param generate responses written for the test split after training
 * @param lora low-rank adapters instead of training the weights themselves (lora.r 0 = off)
 * @param seed seeds the split, dropout and batch order (and the weights of a random base)
 */
public record InstructConfig(
    String outDir,
    String baseCheckpoint,
    String modelName,
    Map<String, Object> model,
    Data data,
    Train train,
    PretrainConfig.Optimizer optimizer,
    Generate generate,
    LoraConfig lora,
    long seed) {

  /**
   * The entries.
   *
   * @param path a JSON array or JSONL file of {instruction, input, output} objects (input may be empty or absent)
   * @param trainFraction share for training (the book: 0.85)
   * @param valFraction share for validation (the book: 0.05); the rest (0.10) is the test split
   * @param maxLength tokens per example (0 = the context length); longer examples are truncated and counted
   * @param maskPrompt count the loss on the response only (targets of the prompt's tokens ignored)
   * @param tokenizer "gpt2" or a train-tokenizer directory
   * @param template the prompt format: alpaca (the book), phi3 (its exercise 7.1) or custom (customTemplate); saved in
   *     the checkpoints, so chat and serve ask the model in the same format
   * @param customTemplate the strings of template: custom
   */
  public record Data(String path, double trainFraction, double valFraction, int maxLength, boolean maskPrompt,
      String tokenizer, String template, Template customTemplate) {}

  /**
   * A prompt format's strings (generate.InstructionTemplate): preamble + instruction header + instruction
   * [+ separator + input header + input] + separator + response header, then the response; a generated response ends
   * at stop.
   */
  public record Template(String preamble, String instruction, String input, String response, String separator,
      String stop) {}

  /** Values of data.template. */
  public static final java.util.Set<String> TEMPLATES = java.util.Set.of("alpaca", "phi3", "custom");

  /**
   * The loop.
   *
   * @param epochs passes over the training split (the book: 2)
   * @param batchSize examples per optimizer step (the book: 8)
   * @param maxNorm global gradient-norm clip (0 = off)
   * @param logInterval steps between metrics lines
   * @param strategy "local" (this process) or "parameter_averaging" (Spark workers, as pretraining)
   * @param workers parameter_averaging: Spark tasks training side by side on their share of each round's batches
   * @param averagingFrequency parameter_averaging: optimizer steps each worker takes between averagings
   * @param tensorboard also write the metrics as TensorBoard event files under out_dir/tensorboard
   */
  public record Train(int epochs, int batchSize, double maxNorm, int logInterval, Strategy strategy, int workers,
      int averagingFrequency, int patience, boolean tensorboard) implements EpochTraining {}

  /**
   * Responses for the test split.
   *
   * @param maxNewTokens tokens generated per response at most (greedy; stops at end-of-text)
   * @param limit test entries answered (0 = all)
   */
  public record Generate(int maxNewTokens, int limit) {}

  public InstructConfig {
    model = model == null ? Map.of() : new LinkedHashMap<>(model);
  }

  /** Defaults: every key present, as in conf/finetune/alpaca.yaml. */
  public static InstructConfig defaults() {
    return new InstructConfig("runs/instruct", "random", "gpt2-tiny", Map.of(),
        new Data(null, 0.85, 0.05, 0, false, "gpt2", "alpaca", new Template("", "### Instruction:\n",
            "### Input:\n", "### Response:\n", "\n\n", "\n### ")),
        new Train(2, 8, 1.0, 10, Strategy.LOCAL, 2, 1, 0, false),
        new PretrainConfig.Optimizer(5e-5, 5e-5, 0.1, 0.9, 0.999, 1e-8),
        new Generate(256, 0),
        LoraConfig.defaults(),
        123);
  }

  /** Throws one ConfigException listing every problem. */
  public InstructConfig validate() {
    List<String> p = new ArrayList<>();
    PretrainConfig.finetuneProblems(outDir, baseCheckpoint, data.path(), optimizer, p);
    lora.problems(p);
    if (!(data.trainFraction() > 0 && data.valFraction() >= 0 && data.trainFraction() + data.valFraction() < 1)) {
      p.add("data.train_fraction / val_fraction: need train > 0, val ≥ 0 and train + val < 1 (the rest is test)");
    }
    if (data.maxLength() < 0) {
      p.add("data.max_length: must be ≥ 0 (0 = the context length)");
    }
    if (!TEMPLATES.contains(data.template())) {
      p.add("data.template: '" + data.template() + "' is not one of " + new java.util.TreeSet<>(TEMPLATES));
    }
    Template c = data.customTemplate();
    if ("custom".equals(data.template()) && (c == null || c.preamble() == null || c.instruction() == null
        || c.input() == null || c.response() == null || c.separator() == null || c.stop() == null
        || c.response().isBlank())) {
      p.add("data.custom_template: template custom needs preamble, instruction, input, response, separator and stop "
          + "(strings, \"\" for none; response not empty)");
    }
    if (train.epochs() < 1 || train.batchSize() < 1 || train.logInterval() < 1 || train.maxNorm() < 0
        || train.patience() < 0) {
      p.add("train.epochs / batch_size / log_interval: must be ≥ 1; train.max_norm ≥ 0; train.patience ≥ 0"
          + " (0 = never stop early)");
    }
    PretrainConfig.strategyProblems(train.strategy(), train.workers(), train.averagingFrequency(), p);
    if (generate.maxNewTokens() < 1 || generate.limit() < 0) {
      p.add("generate.max_new_tokens ≥ 1 and generate.limit ≥ 0 (0 = all) are required");
    }
    if (!p.isEmpty()) {
      throw new ConfigException("finetune config", String.join("; ", p), "correct the keys named above");
    }
    return this;
  }
}
