package dev.sparkgpt.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Settings of the eval job: a checkpoint → report.json with benchmark accuracies and perplexities.
 *
 * @param checkpoint checkpoint to evaluate: a pretrain/finetune out_dir (its latest) or one step-NNNNNN directory
 * @param tasks task files (.jsonl): {"query","choices","gold"} multiple choice or {"text"} last-word items
 * @param numFewshot examples from the same task put before each item (never the item itself)
 * @param limit items per task, the first ones (-1 = all), for quick looks
 * @param seed seed of the few-shot draw (1234, the harness's default)
 * @param classification labelled files (label TAB text, or .csv/.jsonl with text and label) scored by a classify
 *     finetune checkpoint: accuracy, loss and confusion matrix per file (task name = file name)
 * @param perplexity tokenize output directories (their perplexity_split is scored) or .txt files
 * @param perplexitySplit split of a tokenize output to score: val or train
 * @param perplexityStride targets per window; 0 = the model's context (non-overlapping windows)
 * @param perplexityMaxRows shard rows scored per tokenize output (-1 = all)
 * @param tokenizer "auto" (the checkpoint's own), a bundled name or a tokenizer directory; must be the model's
 * @param batchSize sequences per forward pass; its logits take batch_size × tokens × vocab × 4 bytes
 *     (8 × 1024 × 50,257 × 4 B = 1.6 GB for GPT-2 windows)
 * @param distributed score on Spark executors; false = one thread on the driver (same numbers)
 * @param partitions Spark tasks per scoring job, one model each; 0 = Spark's default parallelism
 * @param out report.json path (any Hadoop path), written atomically
 */
public record EvalConfig(
    String checkpoint,
    List<String> tasks,
    int numFewshot,
    int limit,
    long seed,
    List<String> classification,
    List<String> perplexity,
    String perplexitySplit,
    int perplexityStride,
    long perplexityMaxRows,
    String tokenizer,
    int batchSize,
    boolean distributed,
    int partitions,
    String out) {

  public static final Set<String> SPLITS = Set.of("train", "val");

  public EvalConfig {
    tasks = tasks == null ? List.of() : List.copyOf(tasks);
    classification = classification == null ? List.of() : List.copyOf(classification);
    perplexity = perplexity == null ? List.of() : List.copyOf(perplexity);
  }

  /** Defaults: every key present, as in conf/eval/*.yaml. */
  public static EvalConfig defaults() {
    return new EvalConfig(null, List.of(), 0, -1, 1234L, List.of(), List.of(), "val", 0, -1L, "auto", 8, true, 0, null);
  }

  /** Every problem of this config at once; empty when usable. {@code needCheckpoint}: the model comes from it. */
  public List<String> problems(boolean needCheckpoint) {
    List<String> problems = new ArrayList<>();
    if (needCheckpoint && (checkpoint == null || checkpoint.isBlank())) {
      problems.add("checkpoint: no checkpoint given. Fix: --checkpoint DIR or 'checkpoint:' in the YAML");
    }
    if (tasks.isEmpty() && perplexity.isEmpty() && classification.isEmpty()) {
      problems.add("tasks, classification, perplexity: nothing to evaluate. Fix: --tasks FILE[,FILE...], "
          + "--classification FILE and/or --perplexity PATH");
    }
    Set<String> names = new HashSet<>();
    List<String> named = new ArrayList<>(tasks);
    named.addAll(classification);
    for (String task : named) {
      String name = task.substring(task.lastIndexOf('/') + 1).replaceFirst("\\.[^.]*$", "");
      if (!names.add(name)) {
        problems.add("tasks: two files give the task name '" + name + "'. Fix: rename one");
      }
    }
    if (numFewshot < 0) {
      problems.add("num_fewshot: must be ≥ 0, got " + numFewshot);
    }
    if (limit < -1 || limit == 0) {
      problems.add("limit: must be ≥ 1, or -1 for all items, got " + limit);
    }
    if (!SPLITS.contains(perplexitySplit)) {
      problems.add("perplexity_split: '" + perplexitySplit + "' is not one of " + SPLITS);
    }
    if (perplexityStride < 0) {
      problems.add("perplexity_stride: must be ≥ 0 (0 = the model's context), got " + perplexityStride);
    }
    if (perplexityMaxRows < -1 || perplexityMaxRows == 0) {
      problems.add("perplexity_max_rows: must be ≥ 1, or -1 for all rows, got " + perplexityMaxRows);
    }
    if (tokenizer == null || tokenizer.isBlank()) {
      problems.add("tokenizer: must be auto (the checkpoint's own), gpt2, cl100k_base, o200k_base or a tokenizer"
          + " directory");
    }
    if (batchSize < 1) {
      problems.add("batch_size: must be ≥ 1, got " + batchSize);
    }
    if (partitions < 0) {
      problems.add("partitions: must be ≥ 0 (0 = Spark's default parallelism), got " + partitions);
    }
    if (out == null || out.isBlank()) {
      problems.add("out: no report path given. Fix: --out report.json or 'out:' in the YAML");
    }
    return problems;
  }

  /** Throws one ConfigException listing every problem, if any. */
  public EvalConfig validate(boolean needCheckpoint) {
    List<String> problems = problems(needCheckpoint);
    if (!problems.isEmpty()) {
      throw new ConfigException("eval config", String.join("; ", problems), "correct the keys named above");
    }
    return this;
  }
}
