package dev.sparkgpt.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Settings of {@code sparkgpt pipeline}: a user's corpus through tokenize → pretrain → [finetune] → eval → report,
 * every stage writing under {@code out_dir}. Each stage names its own job config (a file under conf/) and inline
 * overrides ({@code set}: dotted key → value, e.g. {@code train.max_steps: 100}); the pipeline itself sets the keys
 * that chain the stages (where each writes and reads), so those are refused in {@code set}.
 *
 * @param outDir every stage writes under here: shards/, pretrain/ (with eval/report.json and report/), finetune/
 * @param input the corpus: files, directories or globs (tokenize's input); empty = the tokenize config's
 * @param trainTokenizer optional (null = none): train a byte-level BPE on the input first (train-tokenizer's config
 *     and overrides, e.g. {@code set: {vocab_size: 1024}}); tokenize, pretrain and eval then use it, and the
 *     model's vocab_size is set to its size
 * @param tokenize the tokenize job's config and overrides
 * @param pretrain the pretrain job's config and overrides
 * @param finetune optional: a finetune of the pretrained model (kind classify or instruct; none = no stage)
 * @param eval the eval job's config and overrides (perplexity defaults to the pipeline's own shards)
 * @param report draw report.html + charts of the pretrain run
 */
public record PipelineConfig(String outDir, List<String> input, Stage trainTokenizer, Stage tokenize, Stage pretrain, Finetune finetune,
    Stage eval, boolean report) {

  /**
   * One stage: its job's YAML (null = the job's defaults) and inline overrides, applied after the YAML.
   *
   * @param config a YAML file of the stage's job, e.g. conf/pretrain/verdict.yaml
   * @param set overrides, dotted key → value; nested mappings are flattened (train: {max_steps: 5})
   */
  public record Stage(String config, Map<String, Object> set) {
    public Stage {
      set = set == null ? Map.of() : new LinkedHashMap<>(set);
    }

    /** {@link #set} with nested mappings flattened to dotted keys ({train: {max_steps: 5}} → train.max_steps). */
    public Map<String, Object> flatSet() {
      Map<String, Object> flat = new LinkedHashMap<>();
      flatten("", set, flat);
      return flat;
    }

    @SuppressWarnings("unchecked")
    private static void flatten(String prefix, Map<String, Object> from, Map<String, Object> into) {
      from.forEach((key, value) -> {
        if (value instanceof Map<?, ?> nested) {
          flatten(prefix + key + ".", (Map<String, Object>) nested, into);
        } else {
          into.put(prefix + key, value);
        }
      });
    }
  }

  /**
   * The optional finetune stage.
   *
   * @param kind none, classify or instruct (the {@code finetune} verb's subcommands)
   * @param config a YAML of that finetune (conf/finetune/spam.yaml, alpaca.yaml)
   * @param set overrides, as in {@link Stage}
   */
  public record Finetune(FinetuneKind kind, String config, Map<String, Object> set) {
    public Finetune {
      set = set == null ? Map.of() : new LinkedHashMap<>(set);
    }

    /** This finetune as a plain stage (config + overrides). */
    public Stage stage() {
      return new Stage(config, set);
    }

    public boolean enabled() {
      return kind != FinetuneKind.NONE;
    }
  }

  /** Keys the pipeline sets itself, per stage: a {@code set} entry for one of these is refused. */
  public static final Map<String, Set<String>> WIRED = Map.of(
      "train_tokenizer", Set.of("input", "output"),
      "tokenize", Set.of("output"),
      "pretrain", Set.of("out_dir", "data.shards", "data.text", "data.tokenizer"),
      "finetune", Set.of("out_dir", "base_checkpoint"),
      "eval", Set.of("checkpoint", "out", "tokenizer"));

  /** Defaults: every stage with its job's defaults, no finetune, a report. */
  public static PipelineConfig defaults() {
    return new PipelineConfig(null, List.of(), null, new Stage(null, Map.of()), new Stage(null, Map.of()),
        new Finetune(FinetuneKind.NONE, null, Map.of()), new Stage(null, Map.of()), true);
  }

  public PipelineConfig {
    input = input == null ? List.of() : List.copyOf(input);
  }

  /** Every problem at once; empty when usable. */
  public List<String> problems() {
    List<String> problems = new ArrayList<>();
    if (outDir == null || outDir.isBlank()) {
      problems.add("out_dir: no output directory given. Fix: 'out_dir: runs/NAME' in the pipeline YAML");
    }
    if (tokenize == null || pretrain == null || eval == null || finetune == null) {
      problems.add("tokenize, pretrain, finetune, eval: a stage section is null. Fix: give it a mapping"
          + " (e.g. 'eval: {config: conf/eval/smoke.yaml}') or leave it out");
      return problems;
    }
    if (finetune.kind() == null) {
      problems.add("finetune.kind: must be one of " + java.util.Arrays.toString(FinetuneKind.values()));
    }
    if (finetune.enabled() && finetune.config() == null) {
      problems.add("finetune.config: a finetune needs its YAML. Fix: e.g. 'config: conf/finetune/spam.yaml'");
    }
    Map<String, Stage> stages = new LinkedHashMap<>();
    if (trainTokenizer != null) {
      stages.put("train_tokenizer", trainTokenizer);
    }
    stages.putAll(Map.of("tokenize", tokenize, "pretrain", pretrain, "finetune", finetune.stage(), "eval", eval));
    for (String name : List.of("train_tokenizer", "tokenize", "pretrain", "finetune", "eval")) {
      if (!stages.containsKey(name)) {
        continue;
      }
      for (String key : stages.get(name).flatSet().keySet()) {
        boolean wiredByTokenizer = trainTokenizer != null && ("tokenize".equals(name) && "tokenizer".equals(key)
            || "pretrain".equals(name) && "model.vocab_size".equals(key));
        if (WIRED.get(name).contains(key) || wiredByTokenizer) {
          problems.add(name + ".set." + key + ": the pipeline sets this from out_dir and the stage before. Fix: "
              + "remove it (change out_dir, or the tokenize stage's tokenizer, instead)");
        }
      }
    }
    return problems;
  }

  /** Throws one ConfigException listing every problem, if any. */
  public PipelineConfig validate() {
    List<String> problems = problems();
    if (!problems.isEmpty()) {
      throw new ConfigException("pipeline config", String.join("; ", problems), "correct the keys named above");
    }
    return this;
  }
}
