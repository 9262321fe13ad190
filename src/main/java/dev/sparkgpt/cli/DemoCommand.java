package dev.sparkgpt.cli;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sparkgpt demo}: the pipeline on the bundled Tiny Shakespeare in Spark local mode — tokenize, pretrain a
 * tiny GPT for a few minutes, evaluate it (perplexity + a multiple-choice set), report — then greedy samples of the
 * final checkpoint (samples.txt) and where it all went.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the pipeline on bundled data (Spark local mode) and print where everything went.")
public final class DemoCommand implements Callable<Integer> {
  /** The prompts of samples.txt, each continued greedily by the final checkpoint. */
  static final List<String> SAMPLE_PROMPTS = List.of("ROMEO:", "First Citizen:");
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

  /**
   * Runs the demo as a pipeline (tokenize -> pretrain -> eval -> report) into {@code out}, then writes the final
   * checkpoint's samples; stages already complete there are skipped (delete {@code out} to start over).
   */
  public static PipelineJob.Outputs run(SparkSession spark, Path out, boolean quick, double minutes,
      PrintStream console) {
    Map<String, Object> train = quick
        ? Map.of("train", Map.of("max_steps", 30, "max_seconds", 0, "micro_batch_size", 4, "global_batch_size", 4,
            "lr_warmup_steps", 5, "save_interval", 15, "log_interval", 10),
            "eval", Map.of("interval", 15, "max_new_tokens", 15), "model", Map.of("context_length", 64))
        : Map.of("train", Map.of("max_steps", 0, "max_seconds", minutes * 60, "max_tokens", 400000));
    PipelineConfig config = new PipelineConfig(out.toString(),
        List.of(home().resolve("src/main/resources/data/corpora/tinyshakespeare.txt").toString()),
        new PipelineConfig.Stage(home().resolve("conf/tokenize/tiny-shakespeare.yaml").toString(), Map.of()),
        new PipelineConfig.Stage(home().resolve("conf/pretrain/tiny-shakespeare.yaml").toString(), train),
        PipelineConfig.defaults().finetune(),
        new PipelineConfig.Stage(null, Map.of("perplexity_max_rows", quick ? 16 : 128, "limit", quick ? 20 : -1,
            "tasks", List.of(home().resolve("src/main/resources/data/eval/copa.jsonl").toString()))),
        true);
    PipelineJob.Resolved resolved = PipelineJob.resolve(config);
    PipelineJob.Outputs outputs = PipelineJob.run(spark, resolved, false, console);
    Path samples = out.resolve(SAMPLES_FILE);
    String text = writeSamples(resolved.layout().pretrain(), resolved.tokenize().tokenizer(), quick ? 20 : 60,
        samples);
    console.println("== sample: greedy continuations by the final checkpoint (" + samples + ")");
    console.print(text);
    printWhereEverythingWent(resolved.layout(), outputs, samples, console);
    return outputs;
  }

  /**
   * The greedy continuation of each of {@link #SAMPLE_PROMPTS} by {@code checkpoint} (through the generate verb's
   * loader and generator), written to {@code file} (replaced whole, never half-written) and returned.
   */
  static String writeSamples(String checkpoint, String tokenizer, int maxNewTokens, Path file) {
    GenerationOptions.Loaded loaded = GenerationOptions.load(checkpoint, tokenizer, true, false);
    StringBuilder text = new StringBuilder();
    for (String prompt : SAMPLE_PROMPTS) {
      Generator.Result r = loaded.generator().generate(loaded.tokenizer().encode(prompt), maxNewTokens,
          Sampler.greedy(), List.of(), null);
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
