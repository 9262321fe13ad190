package dev.sparkgpt.cli;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.PipelineConfig;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.io.OutputException;
import dev.sparkgpt.jobs.Jobs;
import dev.sparkgpt.jobs.PipelineJob;
import dev.sparkgpt.train.TrainingLoop;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sparkgpt demo}: the pipeline of conf/pipeline/demo.yaml on the bundled Tiny Shakespeare in Spark local mode
 * — train a small BPE on it, tokenize, pretrain a small GPT for a few minutes, evaluate it (perplexity + a
 * multiple-choice set), report — then sampled continuations by the final checkpoint (samples.txt) and where it all
 * went.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the pipeline on bundled data (Spark local mode) and print where everything went.")
public final class DemoCommand implements Callable<Integer> {
  /** The prompts of samples.txt, each continued by the final checkpoint. */
  static final List<String> SAMPLE_PROMPTS = List.of("ROMEO:", "First Citizen:", "KING HENRY VI:");
  static final String SAMPLES_FILE = "samples.txt";
  @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/demo",
      description = "Where the demo writes (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--quick", description = "A smaller, faster run (about 2 minutes; used by the end-to-end test).")
  boolean quick;

  @Option(names = "--minutes", defaultValue = "4", description = "Pretraining time budget (default: ${DEFAULT-VALUE}).")
  double minutes;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  /** The repository root: -Dsparkgpt.home (set by bin/sparkgpt), else the current directory. */
  static Path home() {
    return Path.of(System.getProperty("sparkgpt.home", "."));
  }

  @Override
  public Integer call() {
    Jobs.withSession("sparkgpt-demo", true, spark -> run(spark, out, quick, minutes, System.out));
    return 0;
  }

  /** The demo's pipeline: train-tokenizer, tokenize, pretrain, eval, report (paths relative to the repository). */
  static final String CONFIG = "conf/pipeline/demo.yaml";

  /** Sampling of samples.txt (seeded: the same checkpoint writes the same samples). */
  static final double TEMPERATURE = 0.8;
  static final int TOP_K = 40;

  /**
   * Runs the demo as a pipeline ({@value #CONFIG}, its paths taken from {@link #home()}) into {@code out}, then
   * writes the final checkpoint's samples; stages already complete there are skipped (delete {@code out} to start
   * over). {@code quick}: a 30-step run for the end-to-end test; else pretraining stops after {@code minutes}.
   */
  public static PipelineJob.Outputs run(SparkSession spark, Path out, boolean quick, double minutes,
      PrintStream console) {
    PipelineConfig yaml = ConfigLoader.load(PipelineConfig.class, PipelineConfig.defaults(), home().resolve(CONFIG),
        List.of(), Map.of("out_dir", out.toString()), null);
    Map<String, Object> train = new LinkedHashMap<>(yaml.pretrain().set());
    train.putAll(quick
        ? Map.of("train", Map.of("max_steps", 30, "max_seconds", 0, "micro_batch_size", 8, "global_batch_size", 8,
            "lr_warmup_steps", 5, "save_interval", 15, "log_interval", 10),
            "eval", Map.of("interval", 15, "max_new_tokens", 15, "temperature", TEMPERATURE, "top_k", TOP_K),
            "model", Map.of("emb_dim", 64, "n_heads", 4, "n_layers", 2, "context_length", 64, "drop_rate", 0.0))
        : Map.of("train", merged(yaml.pretrain().set().get("train"), "max_seconds", minutes * 60)));
    Map<String, Object> eval = new LinkedHashMap<>(yaml.eval().set());
    eval.put("tasks", ((List<?>) eval.get("tasks")).stream().map(t -> home().resolve(t.toString()).toString())
        .toList());
    if (quick) {
      eval.put("perplexity_max_rows", 16);
      eval.put("limit", 20);
    }
    PipelineConfig config = new PipelineConfig(out.toString(),
        yaml.input().stream().map(p -> home().resolve(p).toString()).toList(),
        yaml.trainTokenizer(), inHome(yaml.tokenize(), yaml.tokenize().set()),
        inHome(yaml.pretrain(), train), yaml.finetune(), inHome(yaml.eval(), eval), yaml.report());
    PipelineJob.Resolved resolved = PipelineJob.resolve(config);
    PipelineJob.Outputs outputs = PipelineJob.run(spark, resolved, false, console);
    Path samples = out.resolve(SAMPLES_FILE);
    String text = writeSamples(resolved.layout().pretrain(), resolved.tokenize().tokenizer(), quick ? 20 : 80,
        resolved.pretrain().seed(), samples);
    console.printf("== sample: continuations by the final checkpoint, temperature %s, top-k %d (%s)%n", TEMPERATURE,
        TOP_K, samples);
    console.print(text);
    int[] share = corpusWords(text, resolved.tokenize().input());
    if (share[1] > 0) {
      console.printf("== %d of %d sampled words (%.0f%%) are words of the corpus%n", share[0], share[1],
          100.0 * share[0] / share[1]);
    }
    printWhereEverythingWent(resolved.layout(), outputs, samples, console);
    return outputs;
  }

  /**
   * {words of {@code samples} found in the corpus, words of {@code samples}}: words are runs of letters and
   * apostrophes, compared case-insensitively; the prompts and the "---" header lines are left out.
   */
  static int[] corpusWords(String samples, List<String> corpus) {
    java.util.regex.Pattern word = java.util.regex.Pattern.compile("[\\p{L}']+");
    java.util.Set<String> known = new java.util.HashSet<>();
    for (String file : corpus) {
      try {
        java.util.regex.Matcher m = word.matcher(Files.readString(Path.of(file), StandardCharsets.UTF_8));
        while (m.find()) {
          known.add(m.group().toLowerCase(java.util.Locale.ROOT));
        }
      } catch (IOException e) {
        return new int[] {0, 0}; // not a local file: no share printed
      }
    }
    int found = 0;
    int total = 0;
    for (String line : samples.split("\n")) {
      if (line.startsWith("--- ")) {
        continue;
      }
      String text = line;
      for (String prompt : SAMPLE_PROMPTS) {
        text = text.startsWith(prompt) ? text.substring(prompt.length()) : text;
      }
      java.util.regex.Matcher m = word.matcher(text);
      while (m.find()) {
        total++;
        found += known.contains(m.group().toLowerCase(java.util.Locale.ROOT)) ? 1 : 0;
      }
    }
    return new int[] {found, total};
  }

  /** {@code stage} with its config file resolved against {@link #home()} and {@code set} as its overrides. */
  private static PipelineConfig.Stage inHome(PipelineConfig.Stage stage, Map<String, Object> set) {
    return new PipelineConfig.Stage(stage.config() == null ? null : home().resolve(stage.config()).toString(), set);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> merged(Object section, String key, Object value) {
    Map<String, Object> m = new LinkedHashMap<>(section instanceof Map<?, ?> map ? (Map<String, Object>) map
        : Map.of());
    m.put(key, value);
    return m;
  }

  /**
   * The continuation of each of {@link #SAMPLE_PROMPTS} by {@code checkpoint} (through the generate verb's loader
   * and generator), sampled at {@link #TEMPERATURE} / {@link #TOP_K} with {@code seed} (greedy decoding of a small
   * model loops on one token), written to {@code file} (replaced whole, never half-written) and returned.
   */
  static String writeSamples(String checkpoint, String tokenizer, int maxNewTokens, long seed, Path file) {
    GenerationOptions.Loaded loaded = GenerationOptions.load(checkpoint, tokenizer, true, false);
    StringBuilder text = new StringBuilder();
    for (String prompt : SAMPLE_PROMPTS) {
      Generator.Result r = loaded.generator().generate(loaded.tokenizer().encode(prompt), maxNewTokens,
          new Sampler(TEMPERATURE, TOP_K, 1, seed), List.of(), null);
      text.append("--- ").append(prompt).append(" (").append(r.ids().length).append(" tokens, ")
          .append(r.stopReason()).append(")\n").append(prompt).append(r.text()).append("\n");
    }
    Path partial = file.resolveSibling("." + file.getFileName() + ".tmp");
    try {
      Files.writeString(partial, text, StandardCharsets.UTF_8);
      Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new OutputException(file + ": cannot write the samples: " + e.getMessage()
          + ". Fix: check free space and permissions", e);
    }
    return text.toString();
  }

  private static void printWhereEverythingWent(PipelineJob.Layout at, PipelineJob.Outputs outputs, Path samples,
      PrintStream console) {
    console.println("== done" + (outputs.ran().isEmpty() ? " (every stage was already complete; delete the "
        + "directory to start over)" : "") + ". Where everything went:");
    console.printf("  shards     %s  (bin/sparkgpt shards inspect %s)%n", at.shards(), at.shards());
    TrainingLoop.Result result = outputs.training();
    console.printf("  model      %s  (%s; metrics.jsonl, step-*/)%n", at.pretrain(), result == null
        ? "from an earlier run" : String.format("step %d, %,d tokens seen, val loss %s", result.step(),
            result.tokensSeen(), result.valLoss() == null ? "n/a" : String.format("%.3f", result.valLoss())));
    console.printf("  samples    %s%n", samples);
    console.printf("  eval       %s%n", at.evalReport());
    console.printf("  report     %s/report.html%n", at.report());
    console.printf("  try        bin/sparkgpt generate --checkpoint %s --prompt \"ROMEO:\" --temperature 0.8 "
        + "--top-k 40%n", at.pretrain());
  }
}
