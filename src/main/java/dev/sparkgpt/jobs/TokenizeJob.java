package dev.sparkgpt.jobs;

import dev.sparkgpt.io.Progress;
import dev.sparkgpt.config.SplitBy;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.BlockLayout;
import dev.sparkgpt.data.DocumentSources;
import dev.sparkgpt.data.EncodedBlock;
import dev.sparkgpt.data.InputFiles;
import dev.sparkgpt.data.InputSplit;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardFiles;
import dev.sparkgpt.data.SplitReader;
import dev.sparkgpt.data.TokenBlocks;
import dev.sparkgpt.data.SourceFile;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.OutputDir;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import dev.sparkgpt.io.HadoopConf;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Tokenizes raw corpora into packed Parquet token shards and writes their manifest (docs/shard-format.md).
 *
 * <p>Usage: {@code sparkgpt tokenize --input PATH[,PATH...] --output DIR [--config conf/tokenize/X.yaml]
 * [--set key=value]}; under spark-submit: {@code --class dev.sparkgpt.jobs.TokenizeJob sparkgpt.jar <same args>}.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Tokenize raw corpora (.txt, .jsonl, .parquet; .gz/.zst/.bz2/.xz) into packed Parquet token shards.")
public final class TokenizeJob implements Callable<Integer> {
  @Mixin
  JobOptions options = new JobOptions();

  @Option(names = "--input", split = ",", paramLabel = "PATH", description = "Files, directories or globs.")
  List<String> input;

  @Option(names = "--output", paramLabel = "DIR", description = "Output directory (train/, val/, manifest.json).")
  String output;

  @Option(names = "--tokenizer", paramLabel = "gpt2|DIR", description = "gpt2 or a train-tokenizer output.")
  String tokenizer;

  @Option(names = "--seq-len", paramLabel = "N", description = "Tokens per training window (rows hold N+1).")
  Integer seqLen;

  @Option(names = "--overwrite", description = "Replace a finished output instead of doing nothing.")
  Boolean overwrite;

  public static void main(String[] args) {
    System.exit(Jobs.execute(new TokenizeJob(), args));
  }

  @Override
  public Integer call() {
    TokenizeConfig config = resolveConfig();
    if (options.dryRun()) {
      List<SourceFile> files = InputFiles.list(config.input(), config.format(), HadoopConf.create());
      TokenizerSpec.resolve(config.tokenizer(), HadoopConf.create()).get();
      OutputDir.inspect(config.output(), Manifest.FILE, HadoopConf.create());
      return Jobs.dryRun(config, files.size() + " input files, config valid");
    }
    Jobs.withSession("sparkgpt-tokenize", true, spark -> run(spark, config, System.out));
    return 0;
  }

  TokenizeConfig resolveConfig() {
    Map<String, Object> flags = new LinkedHashMap<>();
    flags.put("input", input);
    flags.put("output", output);
    flags.put("tokenizer", tokenizer);
    flags.put("seq_len", seqLen);
    flags.put("overwrite", overwrite);
    return options.resolve(TokenizeConfig.class, TokenizeConfig.defaults(), flags).validate();
  }

  /** Runs the job; returns the manifest of the finished output (or of the existing one when nothing was to do). */
  public static Manifest run(SparkSession spark, TokenizeConfig config, PrintStream console) {
    config.validate();
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    OutputDir.State state = OutputDir.inspect(config.output(), Manifest.FILE, hadoop);
    if (state == OutputDir.State.COMPLETE && !config.overwrite()) {
      console.println("tokenize: " + config.output() + " is already complete; nothing to do (--overwrite replaces it)");
      return JsonFiles.read(new Path(config.output(), Manifest.FILE), Manifest.class, hadoop);
    }
    TokenizerSpec spec = TokenizerSpec.resolve(config.tokenizer(), hadoop);
    Tokenizer tok = spec.get();
    List<SourceFile> files = InputFiles.list(config.input(), config.format(), hadoop);
    long inputBytes = files.stream().mapToLong(SourceFile::bytes).sum();
    List<String> sniffed = files.stream().filter(SourceFile::sniffed).map(SourceFile::path).toList();
    if (!sniffed.isEmpty()) {
      console.printf("tokenize: warning: %d files (%s%s) have %s%n", sniffed.size(),
          String.join(", ", sniffed.subList(0, Math.min(3, sniffed.size()))), sniffed.size() > 3 ? ", ..." : "",
          InputFiles.SNIFF_RULE);
    }
    // a tokenizer directory is named by its path, as the user gave it (its own name is the directory's last part)
    String tokenizerName = spec.builtIn() ? tok.name() : config.tokenizer();
    console.printf("tokenize: %d files, %.1f MB -> %s (tokenizer %s, %,d ids, seq_len %d, split by %s, val %.3f)%n",
        files.size(), inputBytes / 1e6, config.output(), tokenizerName, tok.vocabSize(), config.seqLen(),
        config.split(), config.valFraction());

    OutputDir out = OutputDir.create(config.output(), Manifest.FILE, hadoop);
    JavaRDD<EncodedBlock> blocks = null;
    try {
      long start = System.nanoTime();
      boolean byTokens = config.split() == SplitBy.TOKENS;
      int parallelism = Math.max(2, spark.sparkContext().defaultParallelism());
      LongAccumulator read = spark.sparkContext().longAccumulator("tokenize_bytes_read"); // progress only
      blocks = encode(spark, config, spec, files, inputBytes, parallelism, read);
      List<EncodedBlock.Head> heads;
      try (Progress progress = Progress.start("tokenize", Math.max(1, inputBytes), "MB", 1_000_000, read::value,
          () -> "")) {
        int dedupCap = config.dedup() ? DocumentSources.driverDedupCap(blocks.getNumPartitions()) : 0;
        heads = blocks.map(new BlockLayout.HeadOf(byTokens, config.seqLen(), config.seed(), config.valFraction(),
            dedupCap)).collect(); // the encoding pass
        progress.finish(Math.max(1, inputBytes), "");
      }
      long encodedAt = System.nanoTime();
      reportSpill(spark, blocks, console);
      Set<Long> dropped = config.dedup() ? DocumentSources.duplicates(blocks, heads, parallelism) : Set.of();
      BlockLayout.Decisions decisions = BlockLayout.decide(heads, dropped, !byTokens, config.seed(),
          config.valFraction());
      List<BlockLayout.Summary> summaries = BlockLayout.summaries(spark, blocks, heads, decisions, byTokens,
          config.seqLen());
      ReadTotals totals = ReadTotals.of(summaries, dropped.size());
      if (summaries.stream().mapToLong(s -> java.util.Arrays.stream(s.tokens()).sum()).sum() == 0) {
        throw new InputException(String.join(",", config.input()) + ": no documents left to tokenize ("
            + totals.documents + " read, " + totals.droppedShort + " shorter than min_chars=" + config.minChars()
            + "). Fix: check the input or lower min_chars");
      }
      BlockLayout layout = BlockLayout.plan(decisions, summaries, heads, byTokens, config.valFraction(),
          config.seqLen());
      Map<String, Manifest.SplitInfo> splits = ShardFiles.write(spark, blocks, layout, tok.eotId(), config.zstdLevel(),
          out.staging());
      Manifest manifest = manifest(config, tok, splits, layout, files, inputBytes, totals);
      out.writeText(Manifest.FILE, JsonFiles.toJson(manifest));
      out.commit();
      double seconds = (System.nanoTime() - start) / 1e9;
      console.printf("tokenize: done in %.1f s (read+encode %.1f s, layout+write %.1f s) | %,d docs read, %,d duplicates and %,d short dropped | train %,d tokens"
              + " (%,d rows), val %,d tokens (%,d rows) | %.1f MB/s -> %s%n", seconds, (encodedAt - start) / 1e9,
          (System.nanoTime() - encodedAt) / 1e9, totals.documents, totals.duplicates, totals.droppedShort,
          splits.get("train").tokens(), splits.get("train").rows(), splits.get("val").tokens(),
          splits.get("val").rows(), inputBytes / 1e6 / seconds, out.target());
      totals.warnings(console);
      return manifest;
    } catch (Exception e) {
      out.abort();
      throw Jobs.unwrap(e);
    } finally {
      if (blocks != null) {
        blocks.unpersist(false);
      }
    }
  }

  /** Says once when the cached blocks did not fit in storage memory (Spark's own warning, per block, is off). */
  private static void reportSpill(SparkSession spark, JavaRDD<EncodedBlock> blocks, PrintStream console) {
    for (org.apache.spark.storage.RDDInfo info : spark.sparkContext().getRDDStorageInfo()) {
      if (info.id() == blocks.id() && info.diskSize() > 0) {
        console.printf("tokenize: the encoded blocks outgrew storage memory: %.1f MB cached in memory, %.1f MB spilled "
            + "to local disk (spark.local.dir) for the write pass. Fine, only slower; more executor memory keeps them"
            + " in memory%n", info.memSize() / 1e6, info.diskSize() / 1e6);
      }
    }
  }

  /** Read → clean → encode, one task per input split, no shuffle; the blocks are cached for the later passes. */
  private static JavaRDD<EncodedBlock> encode(SparkSession spark, TokenizeConfig config, TokenizerSpec spec,
      List<SourceFile> files, long inputBytes, int parallelism, LongAccumulator read) {
    boolean byTokens = config.split() == SplitBy.TOKENS;
    long splitBytes = config.numShards() > 0 ? Math.max(1L << 12, (inputBytes + config.numShards() - 1)
        / config.numShards()) : InputSplit.splitBytes(inputBytes, parallelism, ((long) config.splitMb()) << 20);
    TokenBlocks.Settings settings = new TokenBlocks.Settings(new SplitReader.Options(config.textField(),
        config.docSeparator(), config.normalizeNewlines(), config.chunkChars(), config.maxDocChars()),
        config.minChars(), config.dedup() || !byTokens, config.seed(), config.valFraction(), !byTokens);
    return TokenBlocks.encode(spark, files, splitBytes, settings, spec, read)
        .persist(StorageLevel.MEMORY_AND_DISK());
  }

  /** Counts for the manifest, summed from the blocks' summaries (results of actions: a retried task counts once). */
  static final class ReadTotals {
    long documents;
    long droppedShort;
    long duplicates;
    long truncated;
    long skippedLong;
    long replacedBytes;
    Set<Integer> invalidFiles = new java.util.TreeSet<>();
    Set<Integer> bomFiles = new java.util.TreeSet<>();

    static ReadTotals of(List<BlockLayout.Summary> summaries, long duplicates) {
      ReadTotals t = new ReadTotals();
      t.duplicates = duplicates;
      for (BlockLayout.Summary s : summaries) {
        EncodedBlock.ReadCounts c = s.counts();
        t.documents += c.docsRead();
        t.droppedShort += c.droppedShort();
        t.truncated += c.truncated();
        t.skippedLong += c.skippedLong();
        t.replacedBytes += c.replacedBytes();
        if (c.replacedBytes() > 0) {
          t.invalidFiles.add(c.fileIndex());
        }
        if (c.bom()) {
          t.bomFiles.add(c.fileIndex());
        }
      }
      return t;
    }

    void warnings(PrintStream console) {
      if (replacedBytes > 0) {
        console.printf("tokenize: warning: %,d bytes in %d files were not UTF-8 and became U+FFFD (manifest: "
            + "invalid_utf8_files, invalid_utf8_bytes)%n", replacedBytes, invalidFiles.size());
      }
      if (truncated > 0 || skippedLong > 0) {
        console.printf("tokenize: warning: %,d documents cut to max_doc_chars, %,d JSONL lines too long to read "
            + "skipped (manifest: truncated_documents, skipped_long_documents)%n", truncated, skippedLong);
      }
    }
  }

  private static Manifest manifest(TokenizeConfig config, Tokenizer tok, Map<String, Manifest.SplitInfo> splits,
      BlockLayout layout, List<SourceFile> files, long inputBytes, ReadTotals totals) {
    @SuppressWarnings("unchecked")
    Map<String, Object> configMap = JsonFiles.MAPPER.convertValue(config, Map.class);
    long[] tokens = layout.splitTokens();
    long sniffed = files.stream().filter(SourceFile::sniffed).count();
    return new Manifest(dev.sparkgpt.data.ShardSchema.FORMAT, dev.sparkgpt.data.ShardSchema.FORMAT_VERSION,
        "sparkgpt " + Version.VERSION, new Manifest.TokenizerInfo(tok.name(), tok.hash(), tok.vocabSize(), tok.eotId()),
        config.seqLen(), config.seqLen() + 1, config.seqLen(), tok.eotId(), config.split().key(), splits,
        tokens[0] + tokens[1], files.size(), inputBytes, totals.documents, totals.duplicates, totals.droppedShort,
        totals.invalidFiles.size(), configMap, totals.replacedBytes, (long) totals.bomFiles.size(), totals.truncated,
        totals.skippedLong, sniffed);
  }
}
