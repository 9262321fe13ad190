package dev.sparkgpt.cli;

import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import dev.sparkgpt.io.HadoopConf;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparkgpt encode}: prints the token ids of a whole file as one JSON array (no end-of-text added). */
@Command(name = "encode", mixinStandardHelpOptions = true,
    description = "Print the JSON array of token ids of a UTF-8 file (or stdin); no <|endoftext|> is added.")
public final class EncodeCommand implements Callable<Integer> {
  @Option(names = "--input", paramLabel = "FILE", description = "Text file; omit or '-' for stdin.")
  String input;

  @Option(names = "--tokenizer", paramLabel = "gpt2|DIR", defaultValue = "gpt2",
      description = "gpt2 or a train-tokenizer output (default: ${DEFAULT-VALUE}).")
  String tokenizer;

  @Option(names = "--allow-special", description = "Encode '<|endoftext|>' in the text as the special id.")
  boolean allowSpecial;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() {
    var tok = TokenizerSpec.resolve(tokenizer, HadoopConf.create()).get();
    String text = new String(readInput(input), StandardCharsets.UTF_8);
    int[] ids = allowSpecial ? tok.encodeWithSpecial(text) : tok.encode(text);
    StringBuilder sb = new StringBuilder(ids.length * 6 + 2).append('[');
    for (int i = 0; i < ids.length; i++) {
      if (i > 0) {
        sb.append(", ");
      }
      sb.append(ids[i]);
    }
    System.out.println(sb.append(']'));
    return 0;
  }

  /** The bytes of {@code input}, or of stdin when it is null or "-". */
  static byte[] readInput(String input) {
    try {
      if (input == null || "-".equals(input)) {
        return System.in.readAllBytes();
      }
      Path path = Path.of(input);
      if (!Files.isRegularFile(path)) {
        throw new InputException(input + ": file not found. Fix: pass an existing file to --input");
      }
      return Files.readAllBytes(path);
    } catch (IOException e) {
      throw new InputException(input + ": cannot read: " + e.getMessage(), e);
    }
  }
}
