package dev.sparkgpt.cli;

import dev.sparkgpt.jobs.Jobs;
import dev.sparkgpt.jobs.EvalJob;
import dev.sparkgpt.jobs.FinetuneJob;
import dev.sparkgpt.jobs.PretrainJob;
import dev.sparkgpt.io.Progress;
import dev.sparkgpt.jobs.TokenizeJob;
import dev.sparkgpt.jobs.TrainTokenizerJob;
import dev.sparkgpt.jobs.Version;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sparkgpt} command: one table from verb to the class that does the work (a job or a small tool). */
@Command(name = "sparkgpt", mixinStandardHelpOptions = true, version = "sparkgpt " + Version.VERSION,
    description = "Pretrain, finetune and evaluate GPT models on Apache Spark.",
    footer = "%nRun 'sparkgpt VERB --help' for a verb's options. Errors print one line; --verbose adds the trace.")
public final class Main implements Runnable {
  /** Every verb, in the order --help lists them. README.md lists the same verbs (MainTest checks). */
  public static final Map<String, Supplier<Object>> VERBS = new LinkedHashMap<>();

  static {
    VERBS.put("demo", DemoCommand::new);
    VERBS.put("pipeline", dev.sparkgpt.jobs.PipelineJob::new);
    VERBS.put("tokenize", TokenizeJob::new);
    VERBS.put("train-tokenizer", TrainTokenizerJob::new);
    VERBS.put("pretrain", PretrainJob::new);
    VERBS.put("finetune", FinetuneJob::new);
    VERBS.put("merge", MergeCommand::new);
    VERBS.put("classify", ClassifyCommand::new);
    VERBS.put("generate", GenerateCommand::new);
    VERBS.put("chat", ChatCommand::new);
    VERBS.put("forward", ForwardCommand::new);
    VERBS.put("eval", EvalJob::new);
    VERBS.put("judge", JudgeCommand::new);
    VERBS.put("serve", ServeCommand::new);
    VERBS.put("report", dev.sparkgpt.report.ReportCommand::new);
    VERBS.put("convert", ConvertCommand::new);
    VERBS.put("encode", EncodeCommand::new);
    VERBS.put("decode", DecodeCommand::new);
    VERBS.put("shards", ShardsCommand::new);
  }

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** The command line with every verb registered. */
  public static CommandLine commandLine() {
    CommandLine cli = Jobs.commandLine(new Main());
    VERBS.forEach((name, factory) -> cli.addSubcommand(name, Jobs.commandLine(factory.get())));
    return cli;
  }

  public static void main(String[] args) {
    Progress.shareTerminal();
    System.exit(commandLine().execute(args));
  }
}
