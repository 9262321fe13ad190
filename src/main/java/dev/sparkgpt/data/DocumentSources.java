package dev.sparkgpt.data;

import dev.sparkgpt.data.DocumentReader.Document;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;
import scala.Tuple2;

/** The distributed steps of the tokenize job before packing: read, clean, de-duplicate, cut and encode documents. */
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
   * Exact de-duplication by content hash; of equal texts the one with the smallest id (first in input order)
   * stays. Only (hash, id) pairs are shuffled, never the texts: the ids to drop are collected (duplicates only) and
   * broadcast, so {@code docs} is read twice and should be cached by the caller.
   */
  public static JavaRDD<Document> dedup(JavaRDD<Document> docs, int partitions) {
    List<Long> dropped = docs.mapToPair(d -> {
      long[] h = Pieces.contentHash(d.text());
      return new Tuple2<>(new Tuple2<>(h[0], h[1]), d.docId());
    }).groupByKey(partitions).flatMap(new NotFirst()).collect();
    if (dropped.isEmpty()) {
      return docs;
    }
    Broadcast<Set<Long>> drop = JavaSparkContext.fromSparkContext(docs.context()).broadcast(new HashSet<>(dropped));
    return docs.filter(d -> !drop.value().contains(d.docId()));
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

  /** Assigns each document its split and cuts it into pieces. */
  public static final class Cut implements FlatMapFunction<Document, Pieces.Piece> {
    private static final long serialVersionUID = 1L;
    private final long seed;
    private final double valFraction;
    private final boolean splitByDocument;
    private final int chunkChars;
    private final LongAccumulator kept;

    public Cut(long seed, double valFraction, boolean splitByDocument, int chunkChars, LongAccumulator kept) {
      this.seed = seed;
      this.valFraction = valFraction;
      this.splitByDocument = splitByDocument;
      this.chunkChars = chunkChars;
      this.kept = kept;
    }

    @Override
    public Iterator<Pieces.Piece> call(Document doc) {
      kept.add(1);
      int split = splitByDocument
          ? Pieces.splitOf(Pieces.contentHash(doc.text())[0], seed, valFraction) : BlockPacker.TRAIN;
      return Pieces.cut(doc.docId(), doc.text(), split, chunkChars).iterator();
    }
  }

  /** Encodes one piece; a document's last piece gets the end-of-text id. */
  public static final class Encode implements Function<Pieces.Piece, Pieces.Encoded> {
    private static final long serialVersionUID = 1L;
    private final TokenizerSpec spec;
    private final LongAccumulator chars;
    private final LongAccumulator tokens;

    public Encode(TokenizerSpec spec, LongAccumulator chars, LongAccumulator tokens) {
      this.spec = spec;
      this.chars = chars;
      this.tokens = tokens;
    }

    @Override
    public Pieces.Encoded call(Pieces.Piece piece) {
      Tokenizer tok = spec.get();
      int[] ids = tok.encode(piece.text());
      if (piece.last()) {
        ids = Arrays.copyOf(ids, ids.length + 1);
        ids[ids.length - 1] = tok.eotId();
      }
      chars.add(piece.text().length());
      tokens.add(ids.length);
      return new Pieces.Encoded(piece.docId(), piece.piece(), piece.split(), ids);
    }
  }
}
