package dev.sparkgpt.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Settings of a classification finetune (the book's chapter 6, conf/finetune/spam.yaml): a pretrained GPT — or a
 * fresh one — whose LM head is replaced by a head of one row per label, trained on the last real token.
 *
 * @param outDir run directory: metrics.jsonl, confusion.json, step-NNNNNN/ checkpoints (one per epoch), latest
 * @param baseCheckpoint a SparkGPT run/step directory, a Hugging Face GPT-2/Llama directory, or "random"
 * @param modelName for "random": a preset in conf/model/ (or a model YAML); ignored otherwise
 * @param model for "random": overrides of the preset's keys
 * @param data the labelled examples
 * @param train the loop
 * @param optimizer AdamW (min_lr unused: the book's constant learning rate)
 * @param lora low-rank adapters instead of training the weights themselves (lora.r 0 = off)
 * @param seed seeds the head's init, the split, balancing, dropout and batch order
 */
public record ClassifyConfig(
    String outDir,
    String baseCheckpoint,
    String modelName,
    Map<String, Object> model,
    Data data,
    Train train,
    PretrainConfig.Optimizer optimizer,
    LoraConfig lora,
    long seed) {

  public static final Set<String> FORMATS = Set.of("tsv", "csv", "jsonl");

  /**
   * The labelled examples.
   *
   * @param path a file: tsv (label TAB text per line, the UCI SMS Spam Collection's format), csv with a header, or
   *     jsonl
   * @param format tsv | csv | jsonl
   * @param textField csv/jsonl: the column/field with the text
   * @param labelField csv/jsonl: the column/field with the label
   * @param labels the label values, in class-id order (class 0 first)
   * @param balance undersample every label to the rarest one's count (the book does for spam)
   * @param trainFraction share of examples for training (the book: 0.7)
   * @param valFraction share for validation (the book: 0.1); the rest is the test split
   * @param maxLength tokens per example (0 = the longest training example, capped at the context length); longer
   *     examples are truncated and counted
   * @param tokenizer "gpt2" or a train-tokenizer directory; must be the base checkpoint's
   */
  public record Data(String path, String format, String textField, String labelField, List<String> labels,
      boolean balance, double trainFraction, double valFraction, int maxLength, String tokenizer) {}

  /**
   * The loop.
   *
   * @param epochs passes over the training split
   * @param batchSize examples per optimizer step
   * @param trainable all | last_block_and_head (with the final norm, as the book) | head
   * @param maxNorm global gradient-norm clip (0 = off)
   * @param logInterval steps between metrics lines within an epoch
   * @param evalBatches batches of each split scored for the per-epoch accuracy (0 = all)
   * @param strategy "local" (this process) or "parameter_averaging" (Spark workers, as pretraining)
   * @param workers parameter_averaging: Spark tasks training side by side on their share of each round's batches
   * @param averagingFrequency parameter_averaging: optimizer steps each worker takes between averagings
   * @param tensorboard also write the metrics as TensorBoard event files under out_dir/tensorboard
   */
  public record Train(int epochs, int batchSize, Trainable trainable, double maxNorm, int logInterval, int evalBatches,
      Strategy strategy, int workers, int averagingFrequency, int patience, boolean tensorboard)
      implements EpochTraining {}

  public ClassifyConfig {
    model = model == null ? Map.of() : new LinkedHashMap<>(model);
  }

  /** Defaults: every key present, as in conf/finetune/spam.yaml. */
  public static ClassifyConfig defaults() {
    return new ClassifyConfig("runs/classify", "random", "gpt2-tiny", Map.of(),
        new Data(null, "tsv", "text", "label", List.of("ham", "spam"), true, 0.7, 0.1, 0, "gpt2"),
        new Train(5, 8, Trainable.LAST_BLOCK_AND_HEAD, 1.0, 10, 0, Strategy.LOCAL, 2, 1, 0, false),
        new PretrainConfig.Optimizer(5e-5, 5e-5, 0.1, 0.9, 0.999, 1e-8),
        LoraConfig.defaults(),
        123);
  }

  /** Throws one ConfigException listing every problem. */
  public ClassifyConfig validate() {
    List<String> p = new ArrayList<>();
    PretrainConfig.finetuneProblems(outDir, baseCheckpoint, data.path(), optimizer, p);
    lora.problems(p);
    if (!FORMATS.contains(data.format())) {
      p.add("data.format: '" + data.format() + "' is not one of " + FORMATS);
    }
    if (data.labels() == null || data.labels().size() < 2 || Set.copyOf(data.labels()).size() != data.labels().size()) {
      p.add("data.labels: need at least two distinct labels, got " + data.labels());
    }
    if (!(data.trainFraction() > 0 && data.valFraction() >= 0 && data.trainFraction() + data.valFraction() < 1)) {
      p.add("data.train_fraction / val_fraction: need train > 0, val ≥ 0 and train + val < 1 (the rest is test), "
          + "got " + data.trainFraction() + " / " + data.valFraction());
    }
    if (data.maxLength() < 0) {
      p.add("data.max_length: must be ≥ 0 (0 = longest training example)");
    }
    if (train.epochs() < 1 || train.batchSize() < 1 || train.logInterval() < 1 || train.evalBatches() < 0
        || train.patience() < 0) {
      p.add("train.epochs / batch_size / log_interval: must be ≥ 1; train.eval_batches ≥ 0; train.patience ≥ 0"
          + " (0 = never stop early)");
    }
    if (train.trainable() == null) {
      p.add("train.trainable: must be one of " + java.util.Arrays.toString(Trainable.values()));
    }
    if (train.maxNorm() < 0) {
      p.add("train.max_norm: must be ≥ 0 (0 = no clipping)");
    }
    PretrainConfig.strategyProblems(train.strategy(), train.workers(), train.averagingFrequency(), p);
    if (!p.isEmpty()) {
      throw new ConfigException("finetune config", String.join("; ", p), "correct the keys named above");
    }
    return this;
  }
}
