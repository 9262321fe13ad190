package dev.sparkgpt.data;

import dev.sparkgpt.io.InputException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The tokenize job's first pass: every input split is read and encoded by one task into one {@link EncodedBlock}
 * (no shuffle: the text never moves). Blocks are numbered in input order, which is stream order.
 */
public final class TokenBlocks {
  private TokenBlocks() {}

  /** Reading and encoding settings shipped to executors. */
  public record Settings(SplitReader.Options read, int minChars, boolean hash, long seed, double valFraction,
      boolean splitByDocuments) implements Serializable {}

  /** One block per text split and per Parquet partition, in input order. */
  public static JavaRDD<EncodedBlock> encode(SparkSession spark, List<SourceFile> files, long splitBytes,
      Settings settings, TokenizerSpec spec, LongAccumulator chars) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    SerializableConfiguration conf = new SerializableConfiguration(spark.sparkContext().hadoopConfiguration());
    List<JavaRDD<EncodedBlock>> parts = new ArrayList<>();
    List<SourceFile> text = new ArrayList<>();
    for (int i = 0; i <= files.size(); i++) {
      SourceFile f = i < files.size() ? files.get(i) : null;
      if (f != null && !"parquet".equals(f.format())) {
        text.add(f);
        continue;
      }
      if (!text.isEmpty()) {
        List<InputSplit> splits = InputSplit.plan(text, splitBytes);
        parts.add(jsc.parallelize(splits, splits.size()).map(new EncodeSplit(settings, spec, conf, chars)));
        text = new ArrayList<>();
      }
      if (f != null) {
        parts.add(readParquet(spark, f, settings.read().textField())
            .mapPartitionsWithIndex(new EncodeRows(f, settings, spec, chars), true));
      }
    }
    JavaRDD<EncodedBlock> all = parts.get(0);
    for (int i = 1; i < parts.size(); i++) {
      all = all.union(parts.get(i));
    }
    return all.mapPartitionsWithIndex(new Number(), true);
  }

  private static JavaRDD<Row> readParquet(SparkSession spark, SourceFile file, String column) {
    Dataset<Row> frame;
    try {
      frame = spark.read().parquet(file.path());
    } catch (RuntimeException e) {
      throw new InputException(file.path() + ": not a readable Parquet file (" + e.getMessage().lines().findFirst()
          .orElse("") + ")", e);
    }
    boolean topLevel = Arrays.asList(frame.schema().fieldNames()).contains(column);
    Dataset<Row> text;
    try {
      text = frame.select(functions.col(topLevel ? "`" + column + "`" : column));
    } catch (Exception e) { // Spark's AnalysisException is checked in Scala's eyes only
      throw new InputException(file.path() + ": no column \"" + column + "\" (columns: "
          + Arrays.toString(frame.schema().fieldNames()) + "). Fix: set text_field to the text column (a.b for a "
          + "nested field)");
    }
    DataType type = text.schema().fields()[0].dataType();
    if (!type.equals(DataTypes.StringType)) {
      throw new InputException(file.path() + ": column \"" + column + "\" is " + type.simpleString()
          + ", expected string");
    }
    return text.javaRDD();
  }

  /** Reads and encodes one split. */
  static final class EncodeSplit implements org.apache.spark.api.java.function.Function<InputSplit, EncodedBlock> {
    private static final long serialVersionUID = 1L;
    private final Settings settings;
    private final TokenizerSpec spec;
    private final SerializableConfiguration conf;
    private final LongAccumulator chars;

    EncodeSplit(Settings settings, TokenizerSpec spec, SerializableConfiguration conf, LongAccumulator chars) {
      this.settings = settings;
      this.spec = spec;
      this.conf = conf;
      this.chars = chars;
    }

    @Override
    public EncodedBlock call(InputSplit split) {
      BlockEncoder encoder = new BlockEncoder(spec.get(), split.file().index(), settings.minChars(), settings.hash(),
          settings.seed(), settings.valFraction(), settings.splitByDocuments());
      SplitReader.Stats stats = SplitReader.read(split, settings.read(), conf.value(), encoder);
      EncodedBlock block = encoder.block();
      block.truncated = stats.truncated;
      block.skippedLong = stats.skippedLong;
      block.replacedBytes = stats.replacedBytes;
      block.bom = stats.bom;
      block.bytesRead = stats.bytesRead;
      chars.add(stats.bytesRead);
      return block;
    }
  }

  /** Encodes one partition of a Parquet file's text column (null values are skipped). */
  static final class EncodeRows implements Function2<Integer, Iterator<Row>, Iterator<EncodedBlock>> {
    private static final long serialVersionUID = 1L;
    private final SourceFile file;
    private final Settings settings;
    private final TokenizerSpec spec;
    private final LongAccumulator chars;

    EncodeRows(SourceFile file, Settings settings, TokenizerSpec spec, LongAccumulator chars) {
      this.file = file;
      this.settings = settings;
      this.spec = spec;
      this.chars = chars;
    }

    @Override
    public Iterator<EncodedBlock> call(Integer partition, Iterator<Row> rows) {
      BlockEncoder encoder = new BlockEncoder(spec.get(), file.index(), settings.minChars(), settings.hash(),
          settings.seed(), settings.valFraction(), settings.splitByDocuments());
      SplitReader.Stats stats = new SplitReader.Stats();
      long base = (((long) file.index()) << 40) | (((long) partition) << 28);
      int i = 0;
      while (rows.hasNext()) {
        Row row = rows.next();
        if (!row.isNullAt(0)) {
          String text = row.getString(0);
          SplitReader.emit(base + i, i, text, settings.read(), stats, encoder);
          chars.add(text.length());
          i++;
        }
      }
      EncodedBlock block = encoder.block();
      block.truncated = stats.truncated;
      return List.of(block).iterator();
    }
  }

  /** Numbers blocks by their partition: input order. */
  static final class Number implements Function2<Integer, Iterator<EncodedBlock>, Iterator<EncodedBlock>> {
    private static final long serialVersionUID = 1L;

    @Override
    public Iterator<EncodedBlock> call(Integer partition, Iterator<EncodedBlock> blocks) {
      List<EncodedBlock> out = new ArrayList<>(1);
      blocks.forEachRemaining(b -> {
        b.order = partition;
        out.add(b);
      });
      return out.iterator();
    }
  }
}
