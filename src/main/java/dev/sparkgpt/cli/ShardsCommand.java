package dev.sparkgpt.cli;

import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import dev.sparkgpt.io.HadoopConf;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sparkgpt shards inspect DIR}: the manifest summary of a tokenize output and its first rows, decoded. */
@Command(name = "shards", mixinStandardHelpOptions = true, description = "Look inside token shards.",
    subcommands = ShardsCommand.Inspect.class)
public final class ShardsCommand implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Prints counts per split, the shard files, and decodes the first rows. */
  @Command(name = "inspect", mixinStandardHelpOptions = true,
      description = "Print a tokenize output's manifest summary and decode its first rows.")
  static final class Inspect implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "A tokenize output directory.")
    String dir;

    @Option(names = "--split", defaultValue = "train", description = "Split to decode (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--rows", defaultValue = "2", description = "Rows to decode (default: ${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--tokenizer", paramLabel = "gpt2|DIR", description = "Tokenizer (default: the manifest's name).")
    String tokenizer;

    @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
    boolean verbose;

    @Override
    public Integer call() {
      Configuration conf = HadoopConf.create();
      ShardReader reader = ShardReader.open(dir, conf);
      Manifest m = reader.manifest();
      PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
      out.printf("%s (format %s v%d, %s)%n", dir, m.format(), m.formatVersion(), m.createdBy());
      out.printf("tokenizer %s (hash %s…, vocab %,d, eot %d) | seq_len %d, rows of %d tokens, split by %s%n",
          m.tokenizer().name(), m.tokenizer().hash().substring(0, 12), m.tokenizer().vocabSize(),
          m.tokenizer().eotId(), m.seqLen(), m.rowTokens(), m.splitMode());
      out.printf("input %,d files, %.1f MB | %,d documents read, %,d duplicates, %,d too short, %,d files with "
              + "invalid UTF-8 | %,d tokens in all%n", m.inputFiles(), m.inputBytes() / 1e6, m.documentsRead(),
          m.droppedDuplicates(), m.droppedShort(), m.invalidUtf8Files(), m.totalTokens());
      m.splits().forEach((name, s) -> {
        long bytes = s.shards().stream().mapToLong(Manifest.ShardFile::bytes).sum();
        out.printf("  %-5s %,12d tokens %,10d rows %,8d documents %4d shards %,12d bytes%n", name, s.tokens(), s.rows(),
            s.documents(), s.shards().size(), bytes);
      });
      if (rows > 0) {
        Tokenizer tok = TokenizerSpec.resolve(tokenizer == null ? m.tokenizer().name() : tokenizer, conf).get();
        reader.checkTokenizer(tok);
        List<ShardReader.ShardRow> first = reader.readRows(split, rows);
        for (ShardReader.ShardRow row : first) {
          int[] real = Arrays.copyOf(row.tokens(), row.length());
          out.printf("--- %s row at offset %,d (doc %d, %d tokens) ---%n%s%n", split, row.offset(), row.docId(),
              row.length(), tok.decode(real));
        }
      }
      return 0;
    }
  }
}
