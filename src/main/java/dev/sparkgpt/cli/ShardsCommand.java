package dev.sparkgpt.cli;

import dev.sparkgpt.data.DocumentLengths;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sparkgpt shards inspect DIR}: the manifest summary of a tokenize output and its first rows, decoded; with
 * {@code --doc-lengths} the document lengths of every split; with {@code --json} the same numbers as JSON.
 * {@code sparkgpt shards verify DIR}: every shard against the manifest (presence, size, SHA-256, rows, schema).
 */
@Command(name = "shards", mixinStandardHelpOptions = true, description = "Look inside token shards.",
    subcommands = {ShardsCommand.Inspect.class, ShardsCommand.Verify.class})
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

    @Option(names = "--doc-lengths", description = "Document lengths per split (tokens between <|endoftext|> "
        + "separators; reads every row).")
    boolean docLengths;

    @Option(names = "--json", description = "Print the split counts (and the document lengths) as one JSON object, "
        + "no decoded rows.")
    boolean json;

    @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
    boolean verbose;

    @Override
    public Integer call() {
      Configuration conf = HadoopConf.create();
      ShardReader reader = ShardReader.open(dir, conf);
      Manifest m = reader.manifest();
      PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
      Map<String, DocumentLengths> lengths = docLengths ? DocumentLengths.of(reader) : Map.of();
      if (json) {
        out.println(JsonFiles.toJson(summary(m, lengths)));
        return 0;
      }
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
      lengths.forEach((name, d) -> out.printf("  %-5s document lengths: %,d documents | min %,d | median %,d | "
              + "mean %,.1f | p90 %,d | max %,d tokens%s%n", name, d.documents(), d.min(), d.quantile(0.5), d.mean(),
          d.quantile(0.9), d.max(), d.unterminated() == 0 ? ""
              : String.format(" (+%,d tokens after the last separator: a document cut by the split)",
                  d.unterminated())));
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

    /** The split counts of the manifest and, when counted, the document lengths, for --json. */
    private Map<String, Object> summary(Manifest m, Map<String, DocumentLengths> lengths) {
      Map<String, Object> splits = new LinkedHashMap<>();
      m.splits().forEach((name, s) -> {
        Map<String, Object> split = new LinkedHashMap<>();
        split.put("tokens", s.tokens());
        split.put("rows", s.rows());
        split.put("documents", s.documents());
        split.put("shards", s.shards().size());
        split.put("bytes", s.shards().stream().mapToLong(Manifest.ShardFile::bytes).sum());
        DocumentLengths d = lengths.get(name);
        if (d != null) {
          Map<String, Object> doc = new LinkedHashMap<>();
          doc.put("documents", d.documents());
          doc.put("min", d.min());
          doc.put("median", d.quantile(0.5));
          doc.put("mean", d.mean());
          doc.put("p90", d.quantile(0.9));
          doc.put("max", d.max());
          doc.put("unterminated_tokens", d.unterminated());
          doc.put("length_counts", d.counts());
          split.put("doc_lengths", doc);
        }
        splits.put(name, split);
      });
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("dir", dir);
      out.put("tokenizer", m.tokenizer().name());
      out.put("eot_id", m.tokenizer().eotId());
      out.put("seq_len", m.seqLen());
      out.put("split_mode", m.splitMode());
      out.put("splits", splits);
      return out;
    }
  }

  /** Checks every shard file against the manifest; exits 1 naming each bad file. */
  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "Check every shard of a tokenize output against its manifest (size, SHA-256, rows, schema).")
  static final class Verify implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "A tokenize output directory.")
    String dir;

    @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
    boolean verbose;

    @Override
    public Integer call() {
      ShardReader reader = ShardReader.open(dir, HadoopConf.create());
      PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
      int[] ok = new int[1];
      List<String> problems = reader.verify(path -> {
        ok[0]++;
        out.println("ok   " + path);
      });
      problems.forEach(p -> out.println("BAD  " + p));
      out.printf("%s: %d shards ok, %d bad%s%n", dir, ok[0], problems.size(),
          problems.isEmpty() ? "" : ". Fix: restore the bad files or re-run sparkgpt tokenize with --overwrite");
      return problems.isEmpty() ? 0 : 1;
    }
  }
}
