package dev.sparkgpt.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Settings of a pretraining run (LitGPT-like keys): where it writes, which model, which data, and the training,
 * optimizer and evaluation knobs. The model's sizes live in {@code conf/model/<model_name>.yaml}; {@code model}
 * overrides single keys of it (e.g. {@code --set model.context_length=128}).
 *
 * @param outDir run directory: metrics.jsonl, step-NNNNNN/ checkpoints, latest
 * @param modelName a preset in conf/model/ (e.g. gpt2-tiny) or a path to a model YAML
 * @param model overrides of the preset's keys
 * @param seed seeds weights init, dropout and data order
 * @param resume "auto" (continue from out_dir/latest when present), "never", or a checkpoint directory
 * @param initFrom null (weights initialised from seed), or a checkpoint to start from at step 0: a SparkGPT run/step
 *     directory or a Hugging Face GPT-2 / Llama directory; its architecture replaces model_name (model overrides
 *     may change drop_rate only), the optimizer, step and data cursor start fresh. A run that resumes (resume
 *     auto with out_dir/latest present, or a directory) continues from its own checkpoint instead.
 */
public record PretrainConfig(
    String outDir,
    String modelName,
    Map<String, Object> model,
    Data data,
    Train train,
    Optimizer optimizer,
    Eval eval,
    long seed,
    String resume,
    String initFrom) {

  /**
   * Where the tokens come from.
   *
   * @param shards a tokenize output directory (train/ and val/ splits, manifest checked)
   * @param text a raw text file tokenized on the fly (smallest runs); used when shards is null
   * @param tokenizer "gpt2" or a train-tokenizer directory; must match the shards' manifest
   * @param valFraction for text: the last fraction of tokens held out (the book's 90/10)
   * @param stride for text: sliding-window stride in tokens (0 = context length, non-overlapping)
   * @param shuffle reshuffle training windows every epoch (seeded): the order of blocks, and of windows in a block
   * @param blockRows for shards: rows per block, the unit in which training shuffles, plans and reads (a worker
   *     holds about {@code StreamBatches.CACHED_BLOCKS} blocks of rows in memory)
   */
  public record Data(String shards, String text, String tokenizer, double valFraction, int stride, boolean shuffle,
      int blockRows) {}

  /**
   * The loop.
   *
   * @param strategy "local" (single process) or "parameter_averaging" (Spark workers)
   * @param microBatchSize sequences per forward/backward
   * @param globalBatchSize sequences per optimizer step (a multiple of micro_batch_size: gradient accumulation)
   * @param maxSteps optimizer steps to run (0 = no limit)
   * @param maxTokens stop after this many training tokens (0 = no limit); at least one of the limits is needed
   * @param maxSeconds stop (with a checkpoint) after this wall time (0 = no limit)
   * @param lrWarmupSteps linear warmup steps
   * @param maxNorm global gradient-norm clip (0 = off)
   * @param logInterval steps between metrics lines
   * @param saveInterval steps between checkpoints (a final one is always written)
   * @param keepLast checkpoints kept
   * @param workers parameter_averaging: Spark tasks training side by side (one per executor core)
   * @param averagingFrequency parameter_averaging: local steps each worker takes between averagings (DiLoCo's H)
   * @param outerOptimizer parameter_averaging: average (the workers' mean becomes the model) or nesterov (DiLoCo:
   *     outer SGD with Nesterov momentum on the mean pseudo-gradient)
   * @param outerLr nesterov: outer learning rate (DiLoCo: 0.7)
   * @param outerMomentum nesterov: outer momentum (DiLoCo: 0.9)
   * @param exchangeDtype parameter_averaging: f32 or bf16 for what workers send back (accumulated in f32)
   * @param allowDataChange resume onto shards other than the run trained on (its cursor position is kept)
   * @param tensorboard also write the metrics as TensorBoard event files under out_dir/tensorboard
   */
  public record Train(Strategy strategy, int microBatchSize, int globalBatchSize, long maxSteps, long maxTokens,
      double maxSeconds, int lrWarmupSteps, double maxNorm, int logInterval, int saveInterval, int keepLast,
      int workers, int averagingFrequency, OuterUpdate outerOptimizer, double outerLr, double outerMomentum,
      ExchangeDtype exchangeDtype, boolean allowDataChange, boolean tensorboard) {

    /** Micro-batches per optimizer step of one worker. */
    public int accumulationSteps() {
      return globalBatchSize / microBatchSize;
    }
  }

  /** AdamW with decoupled weight decay and warmup + cosine decay from lr to min_lr. */
  public record Optimizer(double lr, double minLr, double weightDecay, double beta1, double beta2, double eps)
      implements java.io.Serializable {}

  /**
   * Evaluation during training.
   *
   * @param interval steps between validation-loss evaluations (0 = only at the end)
   * @param maxIters validation batches per evaluation
   * @param prompt text the model continues at every evaluation ("" = none)
   * @param maxNewTokens tokens generated for the sample
   * @param temperature of the sample: 0 = greedy (the book's; small models repeat themselves), else sampled with
   *     {@code top_k}, seeded by the run's seed and the step (the same run prints the same samples)
   * @param topK keep the k most likely ids when sampling (0 = all)
   * @param patience stop once the validation loss has not improved for this many evaluations in a row (0 = never)
   */
  public record Eval(int interval, int maxIters, String prompt, int maxNewTokens, double temperature, int topK,
      int patience) {}


  public PretrainConfig {
    model = model == null ? Map.of() : new LinkedHashMap<>(model);
  }

  /** Defaults: every key present, as in conf/pretrain/*.yaml. */
  public static PretrainConfig defaults() {
    return new PretrainConfig("runs/pretrain", "gpt2-tiny", Map.of(),
        new Data(null, null, "gpt2", 0.1, 0, true, 4096),
        new Train(Strategy.LOCAL, 8, 8, 1000, 0, 0, 50, 1.0, 10, 200, 3, 2, 4, OuterUpdate.AVERAGE, 0.7, 0.9, ExchangeDtype.F32, false,
            false),
        new Optimizer(6e-4, 6e-5, 0.1, 0.9, 0.95, 1e-8),
        new Eval(100, 10, "Every effort moves you", 30, 0.8, 40, 0),
        1337, "auto", null);
  }

  /** The checks every finetune config shares: out_dir, base_checkpoint, data.path and the optimizer's ranges. */
  static void finetuneProblems(String outDir, String base, String dataPath, Optimizer optimizer, List<String> p) {
    if (outDir == null || outDir.isBlank()) {
      p.add("out_dir: empty. Fix: --set out_dir=runs/NAME");
    }
    if (base == null || base.isBlank()) {
      p.add("base_checkpoint: empty. Fix: a checkpoint directory, a Hugging Face GPT-2/Llama directory, or random");
    }
    if (dataPath == null || dataPath.isBlank()) {
      p.add("data.path: empty. Fix: --set data.path=FILE");
    }
    if (!(optimizer.lr() > 0) || optimizer.weightDecay() < 0 || !(optimizer.eps() > 0)) {
      p.add("optimizer.lr > 0, weight_decay ≥ 0 and eps > 0 are required");
    }
  }

  /** train.strategy / workers / averaging_frequency, shared by pretraining and the finetunes. */
  static void strategyProblems(Strategy strategy, int workers, int frequency, List<String> p) {
    if (strategy == null) {
      p.add("train.strategy: empty; one of local, parameter_averaging");
    }
    if (workers < 1 || frequency < 1) {
      p.add("train.workers / averaging_frequency: must be ≥ 1");
    }
  }

  /** Throws one ConfigException listing every problem (LitGPT's validate_args). */
  public PretrainConfig validate() {
    List<String> p = new ArrayList<>();
    if (outDir == null || outDir.isBlank()) {
      p.add("out_dir: empty. Fix: --set out_dir=runs/NAME");
    }
    if ((data.shards() == null) == (data.text() == null)) {
      p.add("data.shards / data.text: give exactly one (a tokenize output directory or a raw text file)");
    }
    if (!(data.valFraction() > 0 && data.valFraction() < 1)) {
      p.add("data.val_fraction: must be in (0, 1), got " + data.valFraction());
    }
    if (data.blockRows() < 1) {
      p.add("data.block_rows: must be ≥ 1, got " + data.blockRows());
    }
    if (data.stride() < 0) {
      p.add("data.stride: must be ≥ 0 (0 = context length), got " + data.stride());
    }
    strategyProblems(train.strategy(), train.workers(), train.averagingFrequency(), p);
    if (train.outerOptimizer() == null) {
      p.add("train.outer_optimizer: must be one of " + java.util.Arrays.toString(OuterUpdate.values()));
    }
    if (!(train.outerLr() > 0) || !(train.outerMomentum() >= 0 && train.outerMomentum() < 1)) {
      p.add("train.outer_lr / outer_momentum: need outer_lr > 0 and 0 ≤ outer_momentum < 1, got " + train.outerLr()
          + " / " + train.outerMomentum());
    }
    if (train.exchangeDtype() == null) {
      p.add("train.exchange_dtype: must be one of " + java.util.Arrays.toString(ExchangeDtype.values()));
    }
    if (train.microBatchSize() < 1) {
      p.add("train.micro_batch_size: must be ≥ 1, got " + train.microBatchSize());
    }
    if (train.globalBatchSize() < 1 || train.microBatchSize() < 1
        || train.globalBatchSize() % train.microBatchSize() != 0) {
      p.add("train.global_batch_size: " + train.globalBatchSize() + " is not a multiple of micro_batch_size="
          + train.microBatchSize() + ". Fix: choose global_batch_size = k × micro_batch_size");
    }
    if (train.maxSteps() <= 0 && train.maxTokens() <= 0 && train.maxSeconds() <= 0) {
      p.add("train.max_steps / max_tokens / max_seconds: all 0, so the run would never stop. Fix: set one");
    }
    if (train.maxSteps() < 0 || train.maxTokens() < 0 || train.maxSeconds() < 0) {
      p.add("train.max_steps / max_tokens / max_seconds: must be ≥ 0");
    }
    if (train.lrWarmupSteps() < 0) {
      p.add("train.lr_warmup_steps: must be ≥ 0");
    }
    if (train.maxNorm() < 0) {
      p.add("train.max_norm: must be ≥ 0 (0 = no clipping)");
    }
    if (train.logInterval() < 1 || train.saveInterval() < 1 || train.keepLast() < 1) {
      p.add("train.log_interval / save_interval / keep_last: must be ≥ 1");
    }
    if (!(optimizer.lr() > 0) || optimizer.minLr() < 0 || optimizer.minLr() > optimizer.lr()) {
      p.add("optimizer.lr / min_lr: need 0 ≤ min_lr ≤ lr and lr > 0, got lr=" + optimizer.lr() + " min_lr="
          + optimizer.minLr());
    }
    if (optimizer.weightDecay() < 0) {
      p.add("optimizer.weight_decay: must be ≥ 0");
    }
    if (!(optimizer.beta1() >= 0 && optimizer.beta1() < 1 && optimizer.beta2() >= 0 && optimizer.beta2() < 1)) {
      p.add("optimizer.beta1 / beta2: must be in [0, 1)");
    }
    if (!(optimizer.eps() > 0)) {
      p.add("optimizer.eps: must be > 0");
    }
    if (eval.interval() < 0 || eval.maxIters() < 1 || eval.maxNewTokens() < 0 || eval.patience() < 0) {
      p.add("eval.interval ≥ 0, eval.max_iters ≥ 1, eval.max_new_tokens ≥ 0, eval.patience ≥ 0 (0 = never stop"
          + " early) are required");
    }
    if (!(eval.temperature() >= 0) || eval.topK() < 0) {
      p.add("eval.temperature: must be ≥ 0 (0 = greedy), eval.top_k ≥ 0 (0 = all ids); got " + eval.temperature()
          + ", " + eval.topK());
    }
    if (resume == null || resume.isBlank()) {
      p.add("resume: auto, never, or a checkpoint directory");
    }
    if (initFrom != null && initFrom.isBlank()) {
      p.add("init_from: empty. Fix: null (train from a fresh initialisation) or a checkpoint directory");
    }
    if (!p.isEmpty()) {
      throw new ConfigException("pretrain config", String.join("; ", p), "correct the keys named above");
    }
    return this;
  }
}
