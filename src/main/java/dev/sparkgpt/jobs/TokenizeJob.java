package dev.sparkgpt.jobs;

import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.BlockPacker;
import dev.sparkgpt.data.DocumentSources;
import dev.sparkgpt.data.DocumentReader.Document;
import dev.sparkgpt.data.InputFiles;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.Pieces;
import dev.sparkgpt.data.ShardFiles;
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
import java.util.concurrent.Callable;
import dev.sparkgpt.io.HadoopConf;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
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
    description = "Tokenize raw corpora (.txt[.gz], .jsonl[.gz], .parquet) into packed Parquet token shards.")
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
    console.printf("tokenize: %d files, %.1f MB -> %s (tokenizer %s, seq_len %d, split by %s, val %.3f)%n",
        files.size(), inputBytes / 1e6, config.output(), tok.name(), config.seqLen(), config.split(),
        config.valFraction());

    OutputDir out = OutputDir.create(config.output(), Manifest.FILE, hadoop);
    try {
      long start = System.nanoTime();
      Counters counters = new Counters(spark);
      JavaRDD<Pieces.Encoded> encoded = encode(spark, config, spec, files, counters);
      List<BlockPacker.PieceCount> counts;
      java.util.function.Supplier<String> counted = () -> String.format(" %,d docs, %,d tokens",
          counters.documents.value(), counters.tokens.value());
      try (Progress progress = Progress.start("tokenize", Math.max(1, inputBytes), "MB", 1_000_000,
          counters.chars::value, counted)) {
        counts = encoded.map(Pieces.Encoded::count).collect();
        progress.finish(Math.max(1, inputBytes), counted.get());
      }
      if (counts.isEmpty()) {
        throw new InputException(String.join(",", config.input()) + ": no documents left to tokenize ("
            + counters.documents.value() + " read, " + counters.droppedShort.value() + " shorter than min_chars="
            + config.minChars() + "). Fix: check the input or lower min_chars");
      }
      long encodedAt = System.nanoTime();
      BlockPacker.Placement placement = BlockPacker.place(counts, "tokens".equals(config.split()),
          config.valFraction());
      Map<String, Manifest.SplitInfo> splits = ShardFiles.write(spark, encoded, placement, counts, config, tok.eotId(),
          out.staging());
      encoded.unpersist();
      Manifest manifest = manifest(config, tok, splits, placement, files.size(), inputBytes, counters);
      out.writeText(Manifest.FILE, JsonFiles.toJson(manifest));
      out.commit();
      double seconds = (System.nanoTime() - start) / 1e9;
      console.printf("tokenize: done in %.1f s (read+encode %.1f s, pack+write %.1f s) | %,d docs read, %,d duplicates and %,d short dropped | train %,d tokens"
              + " (%,d rows), val %,d tokens (%,d rows) | %.1f MB/s -> %s%n", seconds, (encodedAt - start) / 1e9,
          (System.nanoTime() - encodedAt) / 1e9, counters.documents.value(),
          counters.duplicates(), counters.droppedShort.value(), splits.get("train").tokens(),
          splits.get("train").rows(), splits.get("val").tokens(), splits.get("val").rows(),
          inputBytes / 1e6 / seconds, out.target());
      return manifest;
    } catch (Exception e) {
      out.abort();
      throw Jobs.unwrap(e);
    }
  }

  /** Spark accumulators the progress bar and the manifest read. */
  static final class Counters {
    final LongAccumulator documents;
    final LongAccumulator droppedShort;
    final LongAccumulator kept;
    final LongAccumulator chars;
    final LongAccumulator tokens;
    final LongAccumulator invalidUtf8;

    Counters(SparkSession spark) {
      var sc = spark.sparkContext();
      documents = sc.longAccumulator("documents");
      droppedShort = sc.longAccumulator("dropped_short");
      kept = sc.longAccumulator("kept");
      chars = sc.longAccumulator("chars");
      tokens = sc.longAccumulator("tokens");
      invalidUtf8 = sc.longAccumulator("invalid_utf8_files");
    }

    long duplicates() {
      return documents.value() - droppedShort.value() - kept.value();
    }
  }

  /** Read → clean → de-duplicate → cut into pieces → spread → encode; the result is cached for the two passes. */
  private static JavaRDD<Pieces.Encoded> encode(SparkSession spark, TokenizeConfig config, TokenizerSpec spec,
      List<SourceFile> files, Counters counters) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    JavaRDD<Document> documents = DocumentSources.read(spark, files, config.textField(),
        config.docSeparator(), counters.invalidUtf8);
    JavaRDD<Document> cleaned = documents.flatMap(new DocumentSources.Clean(config.normalizeNewlines(),
        config.minChars(), counters.documents, counters.droppedShort));
    if (config.dedup()) {
      cleaned.persist(StorageLevel.MEMORY_AND_DISK_SER()); // read once for the hashes, once for the pieces
    }
    int parallelism = Math.max(2, jsc.defaultParallelism());
    JavaRDD<Document> unique = config.dedup() ? DocumentSources.dedup(cleaned, parallelism) : cleaned;
    JavaRDD<Pieces.Piece> pieces = unique.flatMap(new DocumentSources.Cut(config.seed(), config.valFraction(),
        "documents".equals(config.split()), config.chunkChars(), counters.kept));
    // Spread pieces over all cores: one long document would otherwise be encoded by a single task.
    long pieceParallelism = Math.max(parallelism * 4L, 1);
    JavaRDD<Pieces.Encoded> encoded = pieces.repartition((int) pieceParallelism)
        .map(new DocumentSources.Encode(spec, counters.chars, counters.tokens));
    encoded.persist(StorageLevel.MEMORY_AND_DISK_SER());
    return encoded;
  }

  private static Manifest manifest(TokenizeConfig config, Tokenizer tok, Map<String, Manifest.SplitInfo> splits,
      BlockPacker.Placement placement, int fileCount, long inputBytes, Counters counters) {
    @SuppressWarnings("unchecked")
    Map<String, Object> configMap = JsonFiles.MAPPER.convertValue(config, Map.class);
    return new Manifest(dev.sparkgpt.data.ShardSchema.FORMAT, dev.sparkgpt.data.ShardSchema.FORMAT_VERSION,
        "sparkgpt " + Version.VERSION, new Manifest.TokenizerInfo(tok.name(), tok.hash(), tok.vocabSize(), tok.eotId()),
        config.seqLen(), config.seqLen() + 1, config.seqLen(), tok.eotId(), config.split(), splits,
        placement.splitTokens()[0] + placement.splitTokens()[1], fileCount, inputBytes, counters.documents.value(),
        counters.duplicates(), counters.droppedShort.value(), counters.invalidUtf8.value(), configMap);
  }

}
