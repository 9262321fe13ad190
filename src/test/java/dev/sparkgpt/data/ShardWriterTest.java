package dev.sparkgpt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.statistics.IntStatistics;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The page-level shard writer, read back by Parquet's record reader and by Spark, over many pages and row groups. */
class ShardWriterTest extends SparkTestBase {
  @TempDir
  java.nio.file.Path tmp;

  private record Written(int[][] ids, int[] lengths, long[] docIds, long[] offsets) {}

  /** The zstd level the tokenize job sets reaches the pages, in one JVM (Parquet caches codecs): 19 writes less. */
  @Test
  void theZstdLevelIsHonoured() throws Exception {
    long[] sizes = new long[2];
    int[] levels = {1, 19};
    for (int i = 0; i < 2; i++) {
      Configuration conf = new Configuration();
      conf.setInt(ShardWriter.ZSTD_LEVEL_KEY, levels[i]);
      Path file = new Path(tmp.resolve("level-" + levels[i] + ".parquet").toUri());
      int[] row = new int[1025];
      try (ShardWriter out = new ShardWriter(file, "test", conf)) {
        for (int r = 0; r < 400; r++) {
          for (int k = 0; k < row.length; k++) {
            row[k] = (r * 31 + k * k) % 3000; // compressible, not trivially
          }
          out.write(row, row.length, r, r * 1024L);
        }
        out.commit();
      }
      sizes[i] = Files.size(tmp.resolve("level-" + levels[i] + ".parquet"));
    }
    assertTrue(sizes[1] < sizes[0] * 0.95, "level 19 " + sizes[1] + " bytes vs level 1 " + sizes[0]);
  }

  /** 700 rows of 1,025 ids: 3 token pages per 1 MB row group, 3 row groups, a short padded last row. */
  private static Written write(Path file, Configuration conf) throws Exception {
    Random random = new Random(7);
    int rows = 700;
    int width = 1025;
    Written w = new Written(new int[rows][width], new int[rows], new long[rows], new long[rows]);
    try (ShardWriter out = new ShardWriter(file, "test", conf, 1L << 20)) {
      for (int r = 0; r < rows; r++) {
        int length = r == rows - 1 ? 300 : width;
        for (int i = 0; i < width; i++) {
          w.ids[r][i] = i < length ? random.nextInt(50257) : 50256;
        }
        w.lengths[r] = length;
        w.docIds[r] = (3L << 32) | (r / 5);
        w.offsets[r] = r * 1024L;
        out.write(w.ids[r], length, w.docIds[r], w.offsets[r]);
      }
      out.commit();
      // the checksum and size computed while writing are those of the committed file, read back
      assertEquals(ShardWriter.sha256(file, conf), out.sha256());
      assertEquals(file.getFileSystem(conf).getFileStatus(file).getLen(), out.bytes());
    }
    return w;
  }

  @Test
  void rowsReadBackByParquetAndSparkOverPagesAndRowGroups() throws Exception {
    Configuration conf = new Configuration();
    Path file = new Path(tmp.resolve("part-00000.parquet").toUri());
    Written w = write(file, conf);

    try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(file, conf))) {
      MessageType schema = reader.getFooter().getFileMetaData().getSchema();
      assertEquals(ShardWriter.PARQUET_SCHEMA, schema);
      assertEquals(700, reader.getRecordCount());
      List<BlockMetaData> groups = reader.getRowGroups();
      assertTrue(groups.size() >= 3, "row groups: " + groups.size());
      int min = Integer.MAX_VALUE;
      int max = Integer.MIN_VALUE;
      for (int[] row : w.ids) {
        for (int id : row) {
          min = Math.min(min, id);
          max = Math.max(max, id);
        }
      }
      int groupMin = Integer.MAX_VALUE;
      int groupMax = Integer.MIN_VALUE;
      for (BlockMetaData g : groups) {
        ColumnChunkMetaData tokens = g.getColumns().get(0);
        IntStatistics stats = (IntStatistics) tokens.getStatistics();
        groupMin = Math.min(groupMin, stats.getMin());
        groupMax = Math.max(groupMax, stats.getMax());
      }
      assertEquals(min, groupMin);
      assertEquals(max, groupMax);
      MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
      int r = 0;
      for (BlockMetaData g : groups) {
        RecordReader<Group> records = io.getRecordReader(reader.readNextRowGroup(), new GroupRecordConverter(schema));
        for (long i = 0; i < g.getRowCount(); i++, r++) {
          Group row = records.read();
          Group list = row.getGroup(ShardSchema.TOKENS, 0);
          int[] ids = new int[list.getFieldRepetitionCount(0)];
          for (int k = 0; k < ids.length; k++) {
            ids[k] = list.getGroup(0, k).getInteger(0, 0);
          }
          assertArrayEquals(w.ids[r], ids, "row " + r);
          assertEquals(w.lengths[r], row.getInteger(ShardSchema.LENGTH, 0));
          assertEquals(w.docIds[r], row.getLong(ShardSchema.DOC_ID, 0));
          assertEquals(w.offsets[r], row.getLong(ShardSchema.OFFSET, 0));
        }
      }
      assertEquals(700, r);
    }

    List<Row> rows = new ArrayList<>(spark.read().parquet(file.toString()).collectAsList());
    assertEquals(700, rows.size());
    rows.sort(java.util.Comparator.comparingLong(row -> row.getLong(row.fieldIndex(ShardSchema.OFFSET))));
    for (int r = 0; r < 700; r += 99) {
      Row row = rows.get(r);
      List<Integer> ids = row.getList(row.fieldIndex(ShardSchema.TOKENS));
      assertArrayEquals(w.ids[r], ids.stream().mapToInt(Integer::intValue).toArray(), "spark row " + r);
      assertEquals(w.lengths[r], row.getInt(row.fieldIndex(ShardSchema.LENGTH)));
      assertEquals(w.docIds[r], row.getLong(row.fieldIndex(ShardSchema.DOC_ID)));
    }
  }

  /** Our level runs decode, with Parquet's own decoder, to the levels of rows of any length (1 to 70,000 values). */
  @Test
  void levelRunsDecodeWithParquetsDecoder() throws Exception {
    Random random = new Random(3);
    ShardWriter.LevelRuns repetition = new ShardWriter.LevelRuns();
    List<Integer> expected = new ArrayList<>();
    for (int row = 0; row < 200; row++) {
      int length = row % 50 == 0 ? 70_000 : 1 + random.nextInt(row % 2 == 0 ? 9 : 1100);
      repetition.add(0, 1);
      repetition.add(1, length - 1);
      expected.add(0);
      for (int i = 1; i < length; i++) {
        expected.add(1);
      }
    }
    byte[] bytes = repetition.bytes().toByteArray();
    java.nio.ByteBuffer prefixed = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    assertEquals(bytes.length - 4, prefixed.getInt(), "length prefix");
    org.apache.parquet.column.values.rle.RunLengthBitPackingHybridDecoder decoder =
        new org.apache.parquet.column.values.rle.RunLengthBitPackingHybridDecoder(1,
            new java.io.ByteArrayInputStream(bytes, 4, bytes.length - 4));
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i), decoder.readInt(), "level " + i);
    }
    assertEquals(4, repetition.bytes().size(), "an emptied writer holds only the length prefix");
  }

  @Test
  void theSameRowsGiveTheSameBytes() throws Exception {
    Configuration conf = new Configuration();
    Path a = new Path(tmp.resolve("a.parquet").toUri());
    Path b = new Path(tmp.resolve("b.parquet").toUri());
    write(a, conf);
    write(b, conf);
    assertArrayEquals(Files.readAllBytes(tmp.resolve("a.parquet")), Files.readAllBytes(tmp.resolve("b.parquet")));
    assertEquals(ShardWriter.sha256(a, conf), ShardWriter.sha256(b, conf));
    assertTrue(Files.list(tmp).noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temporary files left");
  }
}
