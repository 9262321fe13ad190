package dev.sparkgpt.data;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.column.ColumnWriteStore;
import org.apache.parquet.column.ColumnWriter;
import org.apache.parquet.hadoop.CodecFactory;
import org.apache.parquet.hadoop.ColumnChunkPageWriteStore;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;

/**
 * Writes one shard file straight from int arrays into Parquet's column writers, without Spark rows or Parquet's
 * record assembly (which cost as much per token as encoding did, measured): the Parquet schema Spark writes for
 * {@link ShardSchema#SCHEMA} (so every reader sees the same file), zstd, no dictionary for token ids and offsets
 * (they rarely repeat within a page). The file is written under a temporary name and renamed when complete, so a
 * retried task replaces a killed attempt's file with identical bytes; {@link #close} {@link #sha256} hashes the result.
 */
public final class ShardWriter implements AutoCloseable {
  /** The Parquet form of {@link ShardSchema#SCHEMA}, as Spark writes it. */
  public static final MessageType PARQUET_SCHEMA = Types.buildMessage()
      .requiredGroup().as(LogicalTypeAnnotation.listType())
        .repeatedGroup().required(PrimitiveTypeName.INT32).named("element").named("list")
      .named(ShardSchema.TOKENS)
      .required(PrimitiveTypeName.INT32).named(ShardSchema.LENGTH)
      .required(PrimitiveTypeName.INT64).named(ShardSchema.DOC_ID)
      .required(PrimitiveTypeName.INT64).named(ShardSchema.OFFSET)
      .named("spark_schema");

  /** Row groups are cut at about this many buffered bytes (a 32 MB split's shard is one or two groups). */
  static final long ROW_GROUP_BYTES = 64L << 20;

  private final ParquetProperties props = ParquetProperties.builder()
      .withPageSize(1 << 20)
      .withDictionaryEncoding(true)
      .withDictionaryEncoding(ShardSchema.TOKENS + ".list.element", false)
      .withDictionaryEncoding(ShardSchema.OFFSET, false)
      .withWriterVersion(ParquetProperties.WriterVersion.PARQUET_1_0)
      .build();
  private final CodecFactory codecs;
  private final CodecFactory.BytesCompressor zstd;
  private final ParquetFileWriter file;
  private final Path temp;
  private final Path target;
  private final Configuration conf;
  private ColumnChunkPageWriteStore pages;
  private ColumnWriteStore columns;
  private ColumnWriter tokens;
  private ColumnWriter lengths;
  private ColumnWriter docIds;
  private ColumnWriter offsets;
  private long groupRows;
  private long rows;
  private boolean closed;

  /** Opens {@code target} for writing (under a temporary sibling name unique to {@code attempt}). */
  public ShardWriter(Path target, String attempt, Configuration conf) throws IOException {
    this.target = target;
    this.conf = conf;
    this.temp = new Path(target.getParent(), "." + target.getName() + "." + attempt + ".tmp");
    this.codecs = new CodecFactory(conf, props.getPageSizeThreshold());
    this.zstd = codecs.getCompressor(CompressionCodecName.ZSTD);
    this.file = new ParquetFileWriter(HadoopOutputFile.fromPath(temp, conf), PARQUET_SCHEMA,
        ParquetFileWriter.Mode.OVERWRITE, ROW_GROUP_BYTES, 0);
    file.start();
    startGroup();
  }

  private void startGroup() {
    pages = new ColumnChunkPageWriteStore(zstd, PARQUET_SCHEMA, props.getAllocator(),
        props.getColumnIndexTruncateLength(), props.getPageWriteChecksumEnabled());
    columns = props.newColumnWriteStore(PARQUET_SCHEMA, pages, pages);
    tokens = columns.getColumnWriter(PARQUET_SCHEMA.getColumnDescription(
        new String[] {ShardSchema.TOKENS, "list", "element"}));
    lengths = columns.getColumnWriter(PARQUET_SCHEMA.getColumnDescription(new String[] {ShardSchema.LENGTH}));
    docIds = columns.getColumnWriter(PARQUET_SCHEMA.getColumnDescription(new String[] {ShardSchema.DOC_ID}));
    offsets = columns.getColumnWriter(PARQUET_SCHEMA.getColumnDescription(new String[] {ShardSchema.OFFSET}));
    groupRows = 0;
  }

  private void flushGroup() throws IOException {
    if (groupRows == 0) {
      return;
    }
    file.startBlock(groupRows);
    columns.flush();
    pages.flushToFileWriter(file);
    file.endBlock();
    columns.close();
  }

  /**
   * Appends one row, value by value into the column writers: the list's first id starts a record (repetition
   * level 0), the rest repeat it (level 1); every id is defined (level 1: the list's repeated group).
   */
  public void write(int[] ids, int length, long docId, long offset) throws IOException {
    tokens.write(ids[0], 0, 1);
    for (int i = 1; i < ids.length; i++) {
      tokens.write(ids[i], 1, 1);
    }
    lengths.write(length, 0, 0);
    docIds.write(docId, 0, 0);
    offsets.write(offset, 0, 0);
    columns.endRecord();
    rows++;
    groupRows++;
    if ((groupRows & 127) == 0 && columns.getBufferedSize() > ROW_GROUP_BYTES) {
      flushGroup();
      startGroup();
    }
  }

  public long rows() {
    return rows;
  }

  /** Finishes the file and renames it into place, replacing an earlier attempt's file. */
  public void commit() throws IOException {
    closed = true;
    flushGroup();
    Map<String, String> meta = new HashMap<>();
    meta.put("org.apache.spark.sql.parquet.row.metadata", ShardSchema.SCHEMA.json());
    file.end(meta);
    codecs.release();
    FileSystem fs = target.getFileSystem(conf);
    if (fs.exists(target)) {
      fs.delete(target, false);
    }
    if (!fs.rename(temp, target)) {
      throw new IOException("cannot rename " + temp + " to " + target);
    }
  }

  /** Without {@link #commit}: abandons the temporary file (a failed or killed attempt leaves nothing). */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      columns.close();
      codecs.release();
      file.end(new HashMap<>());
    } catch (IOException | RuntimeException ignored) {
      // an abandoned attempt: the temporary file goes either way
    } finally {
      temp.getFileSystem(conf).delete(temp, false);
    }
  }

  /** SHA-256 of a file, in hex (what the manifest records and readers check). */
  public static String sha256(Path file, Configuration conf) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    byte[] buf = new byte[1 << 16];
    try (InputStream in = file.getFileSystem(conf).open(file)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        digest.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
