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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.column.statistics.IntStatistics;
import org.apache.parquet.column.statistics.LongStatistics;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.hadoop.CodecFactory;
import com.github.luben.zstd.Zstd;
import org.apache.parquet.hadoop.ColumnChunkPageWriteStore;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;

/**
 * Writes one shard file straight from int arrays into Parquet data pages, without Spark rows, record assembly or
 * column writers (each cost as much per token as encoding did, measured): the Parquet schema Spark writes for
 * {@link ShardSchema#SCHEMA} (so every reader sees the same file), zstd, PLAIN values. A page of the token column
 * is a run of whole rows: its ids copied in bulk as little-endian int32, its repetition levels (0 opens a row's
 * list, 1 continues it) and definition levels (all 1) written as RLE runs of the RLE/bit-packing hybrid encoding
 * ({@link LevelRuns}: two runs per row instead of Parquet's level writers' call per value, which cost 60% of the
 * write pass, measured), its min/max statistics computed in the same loop. The file is written under a temporary name and renamed when
 * complete, so a retried task replaces a killed attempt's file with identical bytes; {@link #sha256()} is its
 * checksum, computed as the bytes are written (readers check files with {@link #sha256(Path, Configuration)}).
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

  /** Parquet's key for the zstd level; read from the writer's Configuration (ShardFiles sets it from zstd_level). */
  public static final String ZSTD_LEVEL_KEY = "parquet.compression.codec.zstd.level";
  /** Parquet's default level, used when the key is absent. */
  static final int DEFAULT_ZSTD_LEVEL = 3;

  /** Row groups are cut at about this many uncompressed bytes (a 32 MB split's shard is one or two groups). */
  static final long ROW_GROUP_BYTES = 64L << 20;
  /** Pages are cut at about this many uncompressed value bytes, always between rows (buffers under 1 MB: see IntChunks). */
  static final int PAGE_BYTES = 1 << 19;

  private static final ColumnDescriptor TOKENS = PARQUET_SCHEMA.getColumnDescription(
      new String[] {ShardSchema.TOKENS, "list", "element"});
  private static final ColumnDescriptor LENGTH = PARQUET_SCHEMA.getColumnDescription(
      new String[] {ShardSchema.LENGTH});
  private static final ColumnDescriptor DOC_ID = PARQUET_SCHEMA.getColumnDescription(
      new String[] {ShardSchema.DOC_ID});
  private static final ColumnDescriptor OFFSET = PARQUET_SCHEMA.getColumnDescription(
      new String[] {ShardSchema.OFFSET});

  private final ParquetProperties props = ParquetProperties.builder()
      .withPageSize(PAGE_BYTES)
      .withWriterVersion(ParquetProperties.WriterVersion.PARQUET_1_0)
      .build();
  private final CodecFactory.BytesCompressor zstd;
  private final ParquetFileWriter file;
  private final Path temp;
  private final Path target;
  private final Configuration conf;
  private ColumnChunkPageWriteStore pages;
  /** The open page of the token column. */
  private ByteBuffer ids = ByteBuffer.allocate(PAGE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
  private final LevelRuns repetition = new LevelRuns();
  private final LevelRuns definition = new LevelRuns();
  /** What Parquet names the (absent) levels of a required top-level column. */
  private final Encoding noLevels = props.newRepetitionLevelWriter(LENGTH).getEncoding();
  private int idRows;
  private int idMin = Integer.MAX_VALUE;
  private int idMax = Integer.MIN_VALUE;
  /** The open pages of the three one-value-per-row columns (they are cut together). */
  private final ByteBuffer lengths = ByteBuffer.allocate(PAGE_BYTES / 2).order(ByteOrder.LITTLE_ENDIAN);
  private final ByteBuffer docIds = ByteBuffer.allocate(PAGE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
  private final ByteBuffer offsets = ByteBuffer.allocate(PAGE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
  private IntStatistics lengthStats;
  private LongStatistics docIdStats;
  private LongStatistics offsetStats;
  private long groupRows;
  private long groupBytes;
  private long rows;
  private boolean closed;
  private final long rowGroupBytes;
  private final HashingOutputFile output;
  private String sha256;

  /** Opens {@code target} for writing (under a temporary sibling name unique to {@code attempt}). */
  public ShardWriter(Path target, String attempt, Configuration conf) throws IOException {
    this(target, attempt, conf, ROW_GROUP_BYTES);
  }

  /** With row groups cut at {@code rowGroupBytes} (tests write several groups without 64 MB of rows). */
  ShardWriter(Path target, String attempt, Configuration conf, long rowGroupBytes) throws IOException {
    this.rowGroupBytes = rowGroupBytes;
    this.target = target;
    this.conf = conf;
    this.temp = new Path(target.getParent(), "." + target.getName() + "." + attempt + ".tmp");
    this.zstd = new ZstdPages(conf.getInt(ZSTD_LEVEL_KEY, DEFAULT_ZSTD_LEVEL));
    this.output = new HashingOutputFile(HadoopOutputFile.fromPath(temp, conf));
    this.file = new ParquetFileWriter(output, PARQUET_SCHEMA,
        ParquetFileWriter.Mode.OVERWRITE, rowGroupBytes, 0);
    file.start();
    startGroup();
  }

  private void startGroup() {
    pages = new ColumnChunkPageWriteStore(zstd, PARQUET_SCHEMA, props.getAllocator(),
        props.getColumnIndexTruncateLength(), props.getPageWriteChecksumEnabled());
    groupRows = 0;
    groupBytes = 0;
    resetScalarStats();
  }

  private void resetScalarStats() {
    lengthStats = (IntStatistics) Statistics.createStats(LENGTH.getPrimitiveType());
    docIdStats = (LongStatistics) Statistics.createStats(DOC_ID.getPrimitiveType());
    offsetStats = (LongStatistics) Statistics.createStats(OFFSET.getPrimitiveType());
  }

  /** Appends one row: all of {@code row} (seq_len + 1 ids, padded past {@code length}) and its three scalars. */
  public void write(int[] row, int length, long docId, long offset) throws IOException {
    int bytes = row.length * Integer.BYTES;
    if (idRows > 0 && ids.position() + bytes > PAGE_BYTES) {
      flushIdPage();
    }
    if (ids.remaining() < bytes) { // one row longer than a page: the page holds just it
      ids = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
    int position = ids.position();
    ids.asIntBuffer().put(row);
    ids.position(position + bytes);
    int min = idMin;
    int max = idMax;
    repetition.add(0, 1);
    repetition.add(1, row.length - 1);
    definition.add(1, row.length);
    for (int id : row) {
      min = Math.min(min, id);
      max = Math.max(max, id);
    }
    idMin = min;
    idMax = max;
    idRows++;

    lengths.putInt(length);
    docIds.putLong(docId);
    offsets.putLong(offset);
    lengthStats.updateStats(length);
    docIdStats.updateStats(docId);
    offsetStats.updateStats(offset);
    if (!docIds.hasRemaining()) {
      flushScalarPages();
    }
    rows++;
    groupRows++;
    groupBytes += bytes + Integer.BYTES + 2 * Long.BYTES;
    if (groupBytes >= rowGroupBytes) {
      flushGroup();
      startGroup();
    }
  }

  public long rows() {
    return rows;
  }

  private void flushIdPage() throws IOException {
    if (idRows == 0) {
      return;
    }
    IntStatistics stats = (IntStatistics) Statistics.createStats(TOKENS.getPrimitiveType());
    stats.updateStats(idMin);
    stats.updateStats(idMax);
    pages.getPageWriter(TOKENS).writePage(BytesInput.concat(repetition.bytes(), definition.bytes(),
        BytesInput.from(ids.array(), 0, ids.position())), ids.position() / Integer.BYTES, idRows, stats,
        Encoding.RLE, Encoding.RLE, Encoding.PLAIN);
    ids.clear();
    idRows = 0;
    idMin = Integer.MAX_VALUE;
    idMax = Integer.MIN_VALUE;
  }

  private void flushScalarPages() throws IOException {
    int rowsInPage = lengths.position() / Integer.BYTES;
    if (rowsInPage == 0) {
      return;
    }
    writeValuesPage(LENGTH, lengths, rowsInPage, lengthStats);
    writeValuesPage(DOC_ID, docIds, rowsInPage, docIdStats);
    writeValuesPage(OFFSET, offsets, rowsInPage, offsetStats);
    resetScalarStats();
  }

  /** One page of a required top-level column: values only, no level bytes. */
  private void writeValuesPage(ColumnDescriptor column, ByteBuffer values, int count, Statistics<?> stats)
      throws IOException {
    pages.getPageWriter(column).writePage(BytesInput.from(values.array(), 0, values.position()), count, count, stats,
        noLevels, noLevels, Encoding.PLAIN);
    values.clear();
  }

  private void flushGroup() throws IOException {
    if (groupRows == 0) {
      return;
    }
    flushIdPage();
    flushScalarPages();
    file.startBlock(groupRows);
    pages.flushToFileWriter(file);
    file.endBlock();
  }

  /** Finishes the file and renames it into place, replacing an earlier attempt's file. */
  public void commit() throws IOException {
    closed = true;
    flushGroup();
    Map<String, String> meta = new HashMap<>();
    meta.put("org.apache.spark.sql.parquet.row.metadata", ShardSchema.SCHEMA.json());
    file.end(meta);
    sha256 = output.sha256();
    FileSystem fs = target.getFileSystem(conf);
    if (fs.exists(target)) {
      fs.delete(target, false);
    }
    if (!fs.rename(temp, target)) {
      throw new IOException("cannot rename " + temp + " to " + target);
    }
  }

  /** SHA-256 in hex of the committed file, computed while it was written (what the manifest records). */
  public String sha256() {
    if (sha256 == null) {
      throw new IllegalStateException("sha256() before commit()");
    }
    return sha256;
  }

  /** Bytes of the committed file. */
  public long bytes() {
    return output.length();
  }

  /** Without {@link #commit}: abandons the temporary file (a failed or killed attempt leaves nothing). */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      file.end(new HashMap<>());
    } catch (IOException | RuntimeException ignored) {
      // an abandoned attempt: the temporary file goes either way
    } finally {
      temp.getFileSystem(conf).delete(temp, false);
    }
  }

  /**
   * Compresses each page as one zstd frame at a level of its own. Parquet 1.13's CodecFactory caches one codec per
   * JVM with the Configuration it was first made with, so a level set later was silently ignored (ShardWriterTest);
   * readers decompress these frames with Parquet's own zstd codec.
   */
  static final class ZstdPages extends CodecFactory.BytesCompressor {
    private final int level;
    private byte[] out = new byte[0];

    ZstdPages(int level) {
      this.level = level;
    }

    @Override
    public BytesInput compress(BytesInput bytes) throws IOException {
      byte[] in = bytes.toByteArray();
      int bound = (int) Zstd.compressBound(in.length);
      if (out.length < bound) {
        out = new byte[bound];
      }
      long n = Zstd.compressByteArray(out, 0, out.length, in, 0, in.length, level);
      if (Zstd.isError(n)) {
        throw new IOException("zstd level " + level + ": " + Zstd.getErrorName(n));
      }
      return BytesInput.from(java.util.Arrays.copyOf(out, (int) n));
    }

    @Override
    public CompressionCodecName getCodecName() {
      return CompressionCodecName.ZSTD;
    }

    @Override
    public void release() {
      out = new byte[0];
    }
  }

  /**
   * Levels of bit width 1 as a data page v1 holds them: a 4-byte little-endian length, then RLE runs of the
   * RLE/bit-packing hybrid encoding (parquet-format Encodings.md: a ULEB128 header {@code count << 1}, then the
   * value in one byte). Adjacent runs of one value are merged, so the bytes depend only on the levels.
   */
  static final class LevelRuns {
    private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(1 << 12);
    private int value = -1;
    private long count;

    void add(int level, int n) {
      if (n <= 0) {
        return;
      }
      if (level != value) {
        flushRun();
        value = level;
      }
      count += n;
    }

    private void flushRun() {
      if (count == 0) {
        return;
      }
      long header = count << 1;
      while ((header & ~0x7FL) != 0) {
        out.write((int) ((header & 0x7F) | 0x80));
        header >>>= 7;
      }
      out.write((int) header);
      out.write(value);
      count = 0;
    }

    /** The length-prefixed runs; the writer is then empty again. */
    BytesInput bytes() {
      flushRun();
      value = -1;
      byte[] runs = out.toByteArray();
      out.reset();
      return BytesInput.concat(BytesInput.fromInt(runs.length), BytesInput.from(runs));
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
