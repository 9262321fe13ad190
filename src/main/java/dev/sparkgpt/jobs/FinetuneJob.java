package dev.sparkgpt.jobs;

import dev.sparkgpt.config.ClassifyConfig;
import dev.sparkgpt.config.InstructConfig;
import dev.sparkgpt.finetune.ClassifyFinetune;
import dev.sparkgpt.finetune.InstructFinetune;
import dev.sparkgpt.finetune.InstructionExamples;
import dev.sparkgpt.finetune.LabelledExamples;
import dev.sparkgpt.io.HadoopConf;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Finetunes a pretrained (or fresh) GPT. {@code classify}: the book's chapter 6, a label per text (SMS spam).
 *
 * <p>Usage: {@code sparkgpt finetune classify --config conf/finetune/spam.yaml}; under spark-submit:
 * {@code --class dev.sparkgpt.jobs.FinetuneJob sparkgpt.jar classify <same args>}.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
    description = "Finetune a GPT: classify (a label per text, e.g. SMS spam) or instruct (Alpaca-style "
        + "instruction following).",
    subcommands = {FinetuneJob.Classify.class, FinetuneJob.Instruct.class})
public final class FinetuneJob implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(Jobs.commandLine(new FinetuneJob()).execute(args));
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** What every finetune takes besides its config: where it writes and what it starts from. */
  static final class FinetuneOptions {
    @Mixin
    JobOptions job = new JobOptions();

    @Option(names = "--out-dir", paramLabel = "DIR", description = "Run directory (metrics, checkpoints).")
    String outDir;

    @Option(names = "--base", paramLabel = "DIR|random",
        description = "Base checkpoint: SparkGPT run/step or Hugging Face GPT-2/Llama directory, or random.")
    String base;

    @Option(names = "--lora.r", paramLabel = "R", description = "LoRA rank; 0 = off (= --set lora.r=R).")
    Integer loraR;

    @Option(names = "--lora.alpha", paramLabel = "A", description = "LoRA scale numerator: adapters add (A / R)·A·B.")
    Double loraAlpha;

    @Option(names = "--lora.dropout", paramLabel = "P", description = "LoRA dropout (must be 0, see conf/finetune).")
    Double loraDropout;

    @Option(names = "--lora.targets", split = ",", paramLabel = "T[,T...]",
        description = "Adapted layers: attn_qkv, attn_proj, mlp_fc, mlp_proj, head.")
    List<String> loraTargets;

    /** The config: defaults, YAML, --set, then these flags. */
    <T> T resolve(Class<T> type, T defaults) {
      Map<String, Object> flags = new LinkedHashMap<>();
      flags.put("out_dir", outDir);
      flags.put("base_checkpoint", base);
      flags.put("lora.r", loraR);
      flags.put("lora.alpha", loraAlpha);
      flags.put("lora.dropout", loraDropout);
      flags.put("lora.targets", loraTargets);
      return job.resolve(type, defaults, flags);
    }
  }

  @Command(name = "classify", mixinStandardHelpOptions = true, sortOptions = false,
      description = "Replace the LM head by one row per label and train on the last real token of each text.")
  static final class Classify implements Callable<Integer> {
    @Mixin
    FinetuneOptions options = new FinetuneOptions();

    @Override
    public Integer call() {
      ClassifyConfig config = options.resolve(ClassifyConfig.class, ClassifyConfig.defaults()).validate();
      if (options.job.dryRun()) {
        int n = LabelledExamples.read(config.data(), HadoopConf.create()).size();
        return Jobs.dryRun(config, "config valid, " + n + " labelled examples in " + config.data().path());
      }
      Jobs.withSession("sparkgpt-finetune-classify", config.train().strategy().distributed(),
          spark -> ClassifyFinetune.run(spark, config, System.out));
      return 0;
    }
  }

  @Command(name = "instruct", mixinStandardHelpOptions = true, sortOptions = false,
      description = "Train on Alpaca-formatted instruction + response; write the test split's responses.")
  static final class Instruct implements Callable<Integer> {
    @Mixin
    FinetuneOptions options = new FinetuneOptions();

    @Override
    public Integer call() {
      InstructConfig config = options.resolve(InstructConfig.class, InstructConfig.defaults()).validate();
      if (options.job.dryRun()) {
        int n = InstructionExamples.read(config.data().path(), HadoopConf.create()).size();
        return Jobs.dryRun(config, "config valid, " + n + " instruction entries in " + config.data().path());
      }
      Jobs.withSession("sparkgpt-finetune-instruct", config.train().strategy().distributed(),
          spark -> InstructFinetune.run(spark, config, System.out));
      return 0;
    }
  }
}
