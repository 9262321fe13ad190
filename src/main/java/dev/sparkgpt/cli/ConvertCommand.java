package dev.sparkgpt.cli;

import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.checkpoint.CheckpointConversion;
import dev.sparkgpt.jobs.CheckpointTokenizer;
import dev.sparkgpt.tokenizer.HfTokenizerFiles;
import dev.sparkgpt.tokenizer.Tokenizer;
import org.apache.hadoop.conf.Configuration;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparkgpt convert hf-to-sparkgpt|sparkgpt-to-hf}: checkpoints between Hugging Face's layout and ours. */
@Command(name = "convert", mixinStandardHelpOptions = true,
    description = "Convert checkpoints between the Hugging Face GPT-2 / Llama layouts and SparkGPT's.",
    subcommands = {ConvertCommand.HfToSparkGpt.class, ConvertCommand.SparkGptToHf.class})
public final class ConvertCommand implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(name = "hf-to-sparkgpt", mixinStandardHelpOptions = true,
      description = "A Hugging Face GPT-2 or Llama directory (config.json + model.safetensors or a sharded index; "
          + "GPT-2 with or without the transformer. prefix; F32/F16/BF16; tied or untied lm_head) -> a SparkGPT run "
          + "directory.")
  static final class HfToSparkGpt implements Callable<Integer> {
    @Option(names = "--from", required = true, paramLabel = "DIR", description = "Hugging Face model directory.")
    String from;

    @Option(names = "--to", required = true, paramLabel = "DIR", description = "New SparkGPT run directory.")
    String to;

    @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
    boolean verbose;

    @Override
    public Integer call() {
      System.out.println("convert: " + from + " -> " + CheckpointConversion.hfToSparkGpt(from, to));
      return 0;
    }
  }

  @Command(name = "sparkgpt-to-hf", mixinStandardHelpOptions = true,
      description = "A SparkGPT run or step directory -> a Hugging Face directory that transformers' "
          + "GPT2LMHeadModel (GPT-2 config) or LlamaForCausalLM (Llama config) loads.")
  static final class SparkGptToHf implements Callable<Integer> {
    @Option(names = "--from", required = true, paramLabel = "DIR", description = "Run or step directory.")
    String from;

    @Option(names = "--to", required = true, paramLabel = "DIR", description = "New Hugging Face directory.")
    Path to;

    @Option(names = "--dtype", defaultValue = "F32", paramLabel = "F32|F16|BF16",
        description = "Tensor type written (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--tokenizer", defaultValue = CheckpointTokenizer.AUTO, paramLabel = "auto|NAME|DIR",
        description = "Tokenizer files to write beside the weights (default: auto, the checkpoint's own).")
    String tokenizer;

    @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
    boolean verbose;

    @Override
    public Integer call() {
      SafetensorsDtype type = switch (dtype.toUpperCase(java.util.Locale.ROOT)) {
        case "F32" -> SafetensorsDtype.F32;
        case "F16" -> SafetensorsDtype.F16;
        case "BF16" -> SafetensorsDtype.BF16;
        default -> throw new ConfigException("--dtype", "'" + dtype + "' is not a dtype Hugging Face checkpoints use "
            + "for weights", "use F32, F16 or BF16");
      };
      Configuration conf = HadoopConf.create();
      Optional<TokenizerSpec> spec = CheckpointTokenizer.AUTO.equals(tokenizer)
          ? CheckpointTokenizer.known(from, conf)
          : Optional.of(CheckpointTokenizer.resolve(from, tokenizer, conf, "--tokenizer"));
      // An instruct finetune records its template: exported as the chat template, so apply_chat_template matches chat.
      String chat = Checkpoint.stateOf(from).filter(s -> s.has("template_strings"))
          .map(s -> InstructionTemplate.fromState(s).chatTemplate()).orElse(null);
      CheckpointConversion.sparkGptToHf(from, to, type, (dir, config) -> {
        if (spec.isPresent()) {
          Tokenizer tok = spec.get().get();
          if (tok.vocabSize() > config.vocabSize()) {
            throw new ConfigException("--tokenizer", tok.name() + " has " + tok.vocabSize() + " ids but the model "
                + "only " + config.vocabSize(), "pass the tokenizer the model was trained with");
          }
          HfTokenizerFiles.write(dir, tok, spec.get().originalTokenizerJson(), chat, config.contextLength());
        }
      });
      String written = spec.map(s -> "tokenizer " + s.get().name() + (chat == null ? "" : ", chat template"))
          .orElse("no tokenizer files: the checkpoint records no tokenizer; pass --tokenizer to write them");
      System.out.println("convert: " + from + " -> " + to + " (" + type + "; " + written + ")");
      return 0;
    }
  }
}
