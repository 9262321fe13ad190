package dev.sparkgpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import dev.sparkgpt.io.HadoopConf;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparkgpt decode}: the reverse of encode — a JSON array of ids (file or stdin) back to text. */
@Command(name = "decode", mixinStandardHelpOptions = true,
    description = "Print the text of a JSON array of token ids read from a file (or stdin).")
public final class DecodeCommand implements Callable<Integer> {
  @Option(names = "--input", paramLabel = "FILE", description = "File holding a JSON array of ids; omit for stdin.")
  String input;

  @Option(names = "--tokenizer", paramLabel = "gpt2|DIR", defaultValue = "gpt2",
      description = "gpt2 or a train-tokenizer output (default: ${DEFAULT-VALUE}).")
  String tokenizer;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() {
    var tok = TokenizerSpec.resolve(tokenizer, HadoopConf.create()).get();
    String where = input == null ? "stdin" : input;
    JsonNode node;
    try {
      node = new ObjectMapper().readTree(EncodeCommand.readInput(input));
    } catch (IOException e) {
      throw new InputException(where + ": not a JSON array of ids (" + e.getMessage() + ")", e);
    }
    if (node == null || !node.isArray()) {
      throw new InputException(where + ": expected a JSON array of token ids like [15496, 11, 995]");
    }
    int[] ids = new int[node.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode id = node.get(i);
      if (!id.canConvertToInt() || !id.isIntegralNumber()) {
        throw new InputException(where + ": element " + i + " is " + id + ", expected an integer id");
      }
      ids[i] = id.intValue();
      if (ids[i] < 0 || ids[i] >= tok.vocabSize()) {
        throw new InputException(where + ": id " + ids[i] + " at position " + i + " is outside the vocabulary of "
            + tok.name() + " (0.." + (tok.vocabSize() - 1) + ")");
      }
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    out.print(tok.decode(ids));
    out.flush();
    return 0;
  }
}
