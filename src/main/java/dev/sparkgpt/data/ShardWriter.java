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
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;

/**
 * Writes one shard file straight from int arrays, without Spark rows: the Parquet schema Spark writes for
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

  /** One row as the writer takes it: the first {@code rowTokens} ids of {@code tokens}. */
  record ShardRow(int[] tokens, int length, long docId, long offset) {}

  private final ParquetWriter<ShardRow> writer;
  private final Path temp;
  private final Path target;
  private final Configuration conf;
  private long rows;
  private boolean closed;

  /** Opens {@code target} for writing (under a temporary sibling name unique to {@code attempt}). */
  public ShardWriter(Path target, String attempt, Configuration conf) throws IOException {
    this.target = target;
    this.conf = conf;
    this.temp = new Path(target.getParent(), "." + target.getName() + "." + attempt + ".tmp");
    this.writer = new Builder(temp)
        .withConf(conf)
        .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
        .withCompressionCodec(CompressionCodecName.ZSTD)
        .withDictionaryEncoding(true)
        .withDictionaryEncoding(ShardSchema.TOKENS + ".list.element", false)
        .withDictionaryEncoding(ShardSchema.OFFSET, false)
        .withWriterVersion(ParquetProperties.WriterVersion.PARQUET_1_0)
        .build();
  }

  /** Appends one row. */
  public void write(int[] tokens, int length, long docId, long offset) throws IOException {
    writer.write(new ShardRow(tokens, length, docId, offset));
    rows++;
  }

  public long rows() {
    return rows;
  }

  /** Finishes the file and renames it into place, replacing an earlier attempt's file. */
  public void commit() throws IOException {
    closed = true;
    writer.close();
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
      writer.close();
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

  private static final class Builder extends ParquetWriter.Builder<ShardRow, Builder> {
    Builder(Path path) {
      super(path);
    }

    @Override
    protected Builder self() {
      return this;
    }

    @Override
    protected WriteSupport<ShardRow> getWriteSupport(Configuration conf) {
      return new RowSupport();
    }
  }

  /** Feeds a row's values to Parquet's column writers: no Row, Group or boxed value per token. */
  private static final class RowSupport extends WriteSupport<ShardRow> {
    private RecordConsumer out;

    @Override
    public WriteContext init(Configuration configuration) {
      Map<String, String> meta = new HashMap<>();
      meta.put("org.apache.spark.sql.parquet.row.metadata", ShardSchema.SCHEMA.json());
      return new WriteContext(PARQUET_SCHEMA, meta);
    }

    @Override
    public void prepareForWrite(RecordConsumer recordConsumer) {
      this.out = recordConsumer;
    }

    @Override
    public void write(ShardRow row) {
      out.startMessage();
      out.startField(ShardSchema.TOKENS, 0);
      out.startGroup();
      out.startField("list", 0);
      int[] tokens = row.tokens();
      for (int token : tokens) {
        out.startGroup();
        out.startField("element", 0);
        out.addInteger(token);
        out.endField("element", 0);
        out.endGroup();
      }
      out.endField("list", 0);
      out.endGroup();
      out.endField(ShardSchema.TOKENS, 0);
      out.startField(ShardSchema.LENGTH, 1);
      out.addInteger(row.length());
      out.endField(ShardSchema.LENGTH, 1);
      out.startField(ShardSchema.DOC_ID, 2);
      out.addLong(row.docId());
      out.endField(ShardSchema.DOC_ID, 2);
      out.startField(ShardSchema.OFFSET, 3);
      out.addLong(row.offset());
      out.endField(ShardSchema.OFFSET, 3);
      out.endMessage();
    }
  }
}
