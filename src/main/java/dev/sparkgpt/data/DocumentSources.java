package dev.sparkgpt.data;

import dev.sparkgpt.data.DocumentReader.Document;
import dev.sparkgpt.io.InputException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;
import scala.Tuple2;

/** Distributed document steps: whole documents for train-tokenizer (read, clean) and de-duplication of blocks. */
public final class DocumentSources {
  private DocumentSources() {}

  /** All documents of all inputs: text files are read one task per file, Parquet through Spark SQL. */
  public static JavaRDD<Document> read(SparkSession spark, List<SourceFile> files, String textField,
      String docSeparator, LongAccumulator invalidUtf8) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<SourceFile> text = new ArrayList<>();
    List<JavaRDD<Document>> parts = new ArrayList<>();
    for (SourceFile file : files) {
      if ("parquet".equals(file.format())) {
        parts.add(readParquet(spark, file, textField));
      } else {
        text.add(file);
      }
    }
    if (!text.isEmpty()) {
      SerializableConfiguration conf = new SerializableConfiguration(spark.sparkContext().hadoopConfiguration());
      parts.add(0, jsc.parallelize(text, text.size())
          .flatMap(new ReadFile(textField, docSeparator, conf, invalidUtf8)));
    }
    JavaRDD<Document> all = parts.get(0);
    for (int i = 1; i < parts.size(); i++) {
      all = all.union(parts.get(i));
    }
    return all;
  }

  private static JavaRDD<Document> readParquet(SparkSession spark, SourceFile file, String column) {
    Dataset<Row> frame;
    try {
      frame = spark.read().parquet(file.path());
    } catch (RuntimeException e) {
      throw new InputException(file.path() + ": not a readable Parquet file (" + e.getMessage().lines().findFirst()
          .orElse("") + ")", e);
    }
    StructField field = Arrays.stream(frame.schema().fields()).filter(f -> f.name().equals(column)).findFirst()
        .orElseThrow(() -> new InputException(file.path() + ": no column \"" + column + "\" (columns: "
            + Arrays.toString(frame.schema().fieldNames()) + "). Fix: set text_field to the text column"));
    if (!field.dataType().equals(DataTypes.StringType)) {
      throw new InputException(file.path() + ": column \"" + column + "\" is " + field.dataType().simpleString()
          + ", expected string");
    }
    long base = ((long) file.index()) << 32;
    return frame.select(column).javaRDD().zipWithIndex()
        .filter(t -> !t._1().isNullAt(0))
        .map(t -> new Document(base | t._2(), t._1().getString(0)));
  }

  /** Reads one text file into documents (runs on an executor). */
  static final class ReadFile implements FlatMapFunction<SourceFile, Document> {
    private static final long serialVersionUID = 1L;
    private final String textField;
    private final String separator;
    private final SerializableConfiguration conf;
    private final LongAccumulator invalidUtf8;

    ReadFile(String textField, String separator, SerializableConfiguration conf, LongAccumulator invalidUtf8) {
      this.textField = textField;
      this.separator = separator;
      this.conf = conf;
      this.invalidUtf8 = invalidUtf8;
    }

    @Override
    public Iterator<Document> call(SourceFile file) {
      List<Document> docs = new ArrayList<>();
      DocumentReader.read(file, textField, separator, conf.value(), path -> invalidUtf8.add(1), docs::add);
      return docs.iterator();
    }
  }

  /** Normalises newlines and drops documents shorter than min_chars (counting both). */
  public static final class Clean implements FlatMapFunction<Document, Document> {
    private static final long serialVersionUID = 1L;
    private final boolean normalize;
    private final int minChars;
    private final LongAccumulator read;
    private final LongAccumulator dropped;

    public Clean(boolean normalize, int minChars, LongAccumulator read, LongAccumulator dropped) {
      this.normalize = normalize;
      this.minChars = minChars;
      this.read = read;
      this.dropped = dropped;
    }

    @Override
    public Iterator<Document> call(Document doc) {
      read.add(1);
      String text = normalize ? DocumentReader.normalizeNewlines(doc.text()) : doc.text();
      if (text.length() < Math.max(1, minChars)) {
        dropped.add(1);
        return java.util.Collections.emptyIterator();
      }
      return List.of(new Document(doc.docId(), text)).iterator();
    }
  }

  /**
   * Exact de-duplication by content hash over encoded blocks: of equal texts the one with the smallest key (first
   * in input order) stays. Only (hash, key) pairs are shuffled, never texts or tokens; the keys to drop
   * (duplicates only) come back to the driver. A document spanning blocks takes part with its first part's hash.
   */
  public static Set<Long> duplicates(JavaRDD<EncodedBlock> blocks, List<EncodedBlock.Head> heads, int partitions) {
    if (heads.stream().allMatch(h -> h.dedup() != null)) {
      return duplicates(heads);
    }
    return new HashSet<>(blocks.flatMapToPair(new DedupKeys()).groupByKey(partitions).flatMap(new NotFirst())
        .collect());
  }

  /** At most this many documents are de-duplicated on the driver from the heads (24 bytes each), without a shuffle. */
  public static final int DRIVER_DEDUP_DOCS = 1 << 18;

  /** A block's share of {@link #DRIVER_DEDUP_DOCS}: more documents in any block and the hashes are shuffled. */
  public static int driverDedupCap(int blocks) {
    return DRIVER_DEDUP_DOCS / Math.max(1, blocks);
  }

  /**
   * The same decision on the driver, from every head's (hash, key) triples: a primitive sort of the high hash words
   * finds the few that repeat; only those entries are grouped by full hash, keeping the smallest key.
   */
  static Set<Long> duplicates(List<EncodedBlock.Head> heads) {
    long[] all = heads.stream().flatMapToLong(h -> Arrays.stream(h.dedup())).toArray();
    long[] hi = new long[all.length / 3];
    for (int i = 0; i < hi.length; i++) {
      hi[i] = all[3 * i];
    }
    Arrays.sort(hi);
    Set<Long> repeated = new HashSet<>();
    for (int i = 1; i < hi.length; i++) {
      if (hi[i] == hi[i - 1]) {
        repeated.add(hi[i]);
      }
    }
    java.util.Map<List<Long>, List<Long>> groups = new java.util.HashMap<>();
    for (int j = 0; j < all.length; j += 3) {
      if (repeated.contains(all[j])) {
        groups.computeIfAbsent(List.of(all[j], all[j + 1]), k -> new ArrayList<>()).add(all[j + 2]);
      }
    }
    Set<Long> dropped = new HashSet<>();
    for (List<Long> keys : groups.values()) {
      long keep = java.util.Collections.min(keys);
      keys.stream().filter(k -> k != keep).forEach(dropped::add);
    }
    return dropped;
  }

  /** (content hash, key) of every document entry that begins in a block. */
  static final class DedupKeys implements PairFlatMapFunction<EncodedBlock, Tuple2<Long, Long>, Long> {
    private static final long serialVersionUID = 1L;

    @Override
    public Iterator<Tuple2<Tuple2<Long, Long>, Long>> call(EncodedBlock b) {
      List<Tuple2<Tuple2<Long, Long>, Long>> out = new ArrayList<>(b.docs);
      for (int i = b.firstContinues ? 1 : 0; i < b.docs; i++) {
        out.add(new Tuple2<>(new Tuple2<>(b.hashHi[i], b.hashLo[i]), b.key[i]));
      }
      return out.iterator();
    }
  }

  /** Of a group of documents with equal content, every id but the smallest. */
  static final class NotFirst implements FlatMapFunction<Tuple2<Tuple2<Long, Long>, Iterable<Long>>, Long> {
    private static final long serialVersionUID = 1L;

    @Override
    public Iterator<Long> call(Tuple2<Tuple2<Long, Long>, Iterable<Long>> group) {
      List<Long> ids = new ArrayList<>();
      group._2().forEach(ids::add);
      if (ids.size() < 2) {
        return java.util.Collections.emptyIterator();
      }
      long keep = java.util.Collections.min(ids);
      ids.removeIf(id -> id == keep);
      return ids.iterator();
    }
  }
}
