package dev.sparkgpt.cli;

import dev.sparkgpt.finetune.LoraMerge;
import dev.sparkgpt.io.HadoopConf;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparkgpt merge}: a LoRA finetune's adapters merged into its base, written as a plain checkpoint. */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Merge a LoRA finetune's adapters into its base model and write a plain checkpoint that every verb "
        + "reads (its logits equal the adapted model's).")
public final class MergeCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
      description = "LoRA finetune run directory (its latest step) or one of its step-NNNNNN directories.")
  String checkpoint;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "New run directory (must not exist or "
      + "be empty).")
  String out;

  @Option(names = "--base", paramLabel = "DIR",
      description = "The base checkpoint, if it moved since the finetune (default: base_checkpoint in state.json).")
  String base;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() {
    System.out.println("merge: " + checkpoint + " -> " + LoraMerge.mergeInto(checkpoint, base, out,
        HadoopConf.create()));
    return 0;
  }
}
