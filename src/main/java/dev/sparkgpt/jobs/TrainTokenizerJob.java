package dev.sparkgpt.jobs;

import dev.sparkgpt.io.Progress;
import dev.sparkgpt.config.TrainTokenizerConfig;
import dev.sparkgpt.data.DocumentReader.Document;
import dev.sparkgpt.data.DocumentSources;
import dev.sparkgpt.data.InputFiles;
import dev.sparkgpt.data.SourceFile;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.OutputDir;
import dev.sparkgpt.tokenizer.BpeTrainer;
import dev.sparkgpt.tokenizer.BpeVocabulary;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import scala.Tuple2;

/**
 * Trains a byte-level BPE vocabulary: executors pre-tokenize documents with GPT-2's regex and count words, the
 * driver runs the merges and writes {@code encoder.json} + {@code vocab.bpe} (usable by {@code tokenize --tokenizer}).
 *
 * <p>Usage: {@code sparkgpt train-tokenizer --input PATH --output DIR --set vocab_size=4096}.
 */
@Command(name = "train-tokenizer", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Train a byte-level BPE vocabulary on a corpus (Spark job) -> encoder.json + vocab.bpe.")
public final class TrainTokenizerJob implements Callable<Integer> {
  /** Written next to the vocabulary: what it was trained on and how big it is. */
  public static final String STATS = "tokenizer-stats.json";

  @Mixin
  JobOptions options = new JobOptions();

  @Option(names = "--input", split = ",", paramLabel = "PATH", description = "Files, directories or globs.")
  List<String> input;

  @Option(names = "--output", paramLabel = "DIR", description = "Directory for encoder.json and vocab.bpe.")
  String output;

  @Option(names = "--vocab-size", paramLabel = "N", description = "Ids in all (256 bytes + merges + end-of-text).")
  Integer vocabSize;

  @Option(names = "--overwrite", description = "Replace a finished output.")
  Boolean overwrite;

  public static void main(String[] args) {
    System.exit(Jobs.execute(new TrainTokenizerJob(), args));
  }

  @Override
  public Integer call() {
    Map<String, Object> flags = new LinkedHashMap<>();
    flags.put("input", input);
    flags.put("output", output);
    flags.put("vocab_size", vocabSize);
    flags.put("overwrite", overwrite);
    TrainTokenizerConfig config = options.resolve(TrainTokenizerConfig.class, TrainTokenizerConfig.defaults(), flags)
        .validate();
    if (options.dryRun()) {
      List<SourceFile> files = InputFiles.list(config.input(), config.format(), HadoopConf.create());
      OutputDir.inspect(config.output(), TokenizerSpec.ENCODER, HadoopConf.create());
      return Jobs.dryRun(config, files.size() + " input files, config valid");
    }
    Jobs.withSession("sparkgpt-train-tokenizer", true, spark -> run(spark, config, System.out));
    return 0;
  }

  /** Trains and writes the vocabulary; returns the trainer's result. A finished output is left as is. */
  public static BpeVocabulary run(SparkSession spark, TrainTokenizerConfig config, PrintStream console) {
    config.validate();
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    if (OutputDir.inspect(config.output(), TokenizerSpec.ENCODER, hadoop) == OutputDir.State.COMPLETE
        && !config.overwrite()) {
      console.println("train-tokenizer: " + config.output() + " is already complete; nothing to do (--overwrite)");
      return null;
    }
    List<SourceFile> files = InputFiles.list(config.input(), config.format(), hadoop);
    OutputDir out = OutputDir.create(config.output(), TokenizerSpec.ENCODER, hadoop);
    try {
      long start = System.nanoTime();
      LongAccumulator invalid = spark.sparkContext().longAccumulator("invalid_utf8_files");
      LongAccumulator documents = spark.sparkContext().longAccumulator("documents");
      LongAccumulator dropped = spark.sparkContext().longAccumulator("empty");
      LongAccumulator chars = spark.sparkContext().longAccumulator("chars");
      int minCount = config.minWordCount();
      JavaPairRDD<String, Long> counts = DocumentSources.read(spark, files, config.textField(), config.docSeparator(),
              invalid)
          .flatMap(new DocumentSources.Clean(config.normalizeNewlines(), 1, documents, dropped))
          .mapPartitionsToPair(new CountWords(chars))
          .reduceByKey(Long::sum)
          .filter(t -> t._2() >= minCount);
      long inputBytes = Math.max(1, files.stream().mapToLong(SourceFile::bytes).sum());
      Map<String, Long> words;
      try (Progress progress = Progress.start("train-tokenizer (counting words)", inputBytes, "MB", 1_000_000,
          chars::value, () -> String.format(" %,d docs", documents.value()))) {
        words = new HashMap<>(counts.collectAsMap());
        progress.finish(inputBytes, String.format(" %,d docs", documents.value()));
      }
      if (words.isEmpty()) {
        throw new InputException(String.join(",", config.input()) + ": no text to train on. Fix: check --input");
      }
      double countSeconds = (System.nanoTime() - start) / 1e9;
      console.printf("train-tokenizer: %,d documents, %,d distinct words counted in %.1f s; merging to %,d ids%n",
          documents.value(), words.size(), countSeconds, config.vocabSize());
      BpeVocabulary result = BpeTrainer.train(words, config.vocabSize());
      out.writeBytes(TokenizerSpec.ENCODER, result.encoderJson());
      out.writeBytes(TokenizerSpec.MERGES, result.vocabBpe());
      Map<String, Object> stats = new LinkedHashMap<>();
      stats.put("vocab_size", result.size());
      stats.put("merges", result.mergeCount());
      stats.put("hash", result.hash());
      stats.put("documents", documents.value());
      stats.put("distinct_words", words.size());
      stats.put("input", config.input());
      out.writeText(STATS, JsonFiles.toJson(stats));
      out.commit();
      console.printf("train-tokenizer: done in %.1f s | %,d ids (%,d merges) -> %s%n",
          (System.nanoTime() - start) / 1e9, result.size(), result.mergeCount(), out.target());
      return result;
    } catch (Exception e) {
      out.abort();
      throw Jobs.unwrap(e);
    }
  }

  /** Pre-tokenizes the documents of a partition with GPT-2's regex and counts words locally before the shuffle. */
  static final class CountWords implements PairFlatMapFunction<Iterator<Document>, String, Long> {
    private static final long serialVersionUID = 1L;
    private final LongAccumulator chars;

    CountWords(LongAccumulator chars) {
      this.chars = chars;
    }

    @Override
    public Iterator<Tuple2<String, Long>> call(Iterator<Document> docs) {
      Map<String, Long> local = new HashMap<>();
      while (docs.hasNext()) {
        String text = docs.next().text();
        chars.add(text.length()); // progress: characters ≈ input bytes
        for (String word : BpeTrainer.pretokenize(text)) {
          local.merge(word, 1L, Long::sum);
        }
      }
      return local.entrySet().stream().map(e -> new Tuple2<>(e.getKey(), e.getValue())).iterator();
    }
  }
}
