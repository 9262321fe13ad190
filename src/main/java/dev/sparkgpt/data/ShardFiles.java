package dev.sparkgpt.data;

import dev.sparkgpt.config.TokenizeConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/** Writes the packed rows of each split as zstd Parquet files and lists them for the manifest. */
public final class ShardFiles {
  /** Target uncompressed size of one shard file when num_shards is 0 (automatic). */
  static final long AUTO_SHARD_BYTES = 16L << 20;

  private ShardFiles() {}

  /** Packs and writes train/ and val/ under {@code dir}; returns each split's counts and files. */
  public static Map<String, Manifest.SplitInfo> write(SparkSession spark, JavaRDD<Pieces.Encoded> encoded,
      BlockPacker.Placement placement, List<BlockPacker.PieceCount> counts, TokenizeConfig config, int padId,
      Path dir) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<BlockPacker.Placement> shared = jsc.broadcast(placement);
    // The two splits are independent Spark jobs: run them side by side (val is small and would idle the cores).
    List<java.util.concurrent.CompletableFuture<Manifest.SplitInfo>> futures = new ArrayList<>();
    for (int split = 0; split < 2; split++) {
      int s = split;
      futures.add(java.util.concurrent.CompletableFuture.supplyAsync(
          () -> writeSplit(spark, encoded, shared, placement, config, padId, dir, s)));
    }
    Map<String, Manifest.SplitInfo> splits = new LinkedHashMap<>();
    try {
      for (int split = 0; split < 2; split++) {
        splits.put(BlockPacker.SPLIT_NAMES[split], futures.get(split).join());
      }
    } catch (java.util.concurrent.CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    } finally {
      futures.forEach(f -> f.cancel(true));
      shared.destroy();
    }
    return splits;
  }

  private static Manifest.SplitInfo writeSplit(SparkSession spark, JavaRDD<Pieces.Encoded> encoded,
      Broadcast<BlockPacker.Placement> shared, BlockPacker.Placement placement, TokenizeConfig config, int padId,
      Path dir, int split) {
    int seqLen = config.seqLen();
    long total = placement.splitTokens()[split];
    long rows = BlockPacker.rowCount(total, seqLen);
    String name = BlockPacker.SPLIT_NAMES[split];
    Path splitDir = new Path(dir, name);
    if (rows > 0) {
      int shards = shardCount(config.numShards(), rows, total, spark.sparkContext().defaultParallelism());
      JavaPairRDD<Long, BlockPacker.Fragment> fragments =
          encoded.flatMapToPair(new ToFragments(shared, split, seqLen));
      JavaRDD<Row> packed = fragments
          .repartitionAndSortWithinPartitions(new RowRanges(rows, shards))
          .mapPartitions(new AssembleRows(seqLen, total, padId));
      spark.createDataFrame(packed, ShardSchema.SCHEMA).write().mode(SaveMode.ErrorIfExists)
          .option("compression", "zstd").parquet(splitDir.toString());
    }
    return new Manifest.SplitInfo(total, rows, documents(placement, split),
        list(splitDir, dir, spark.sparkContext().hadoopConfiguration(), rows));
  }

  /** Configured, else one file per ~16 MB of tokens but at least one per core, so writing runs on every core. */
  private static int shardCount(int configured, long rows, long tokens, int cores) {
    long wanted = configured > 0 ? configured : Math.max(cores, tokens * 4 / AUTO_SHARD_BYTES);
    return (int) Math.max(1, Math.min(wanted, rows));
  }

  private static long documents(BlockPacker.Placement placement, int split) {
    Set<Long> docs = new HashSet<>();
    placement.segments().forEach((key, segments) -> segments.forEach(s -> {
      if (s.split() == split) {
        docs.add(key.docId());
      }
    }));
    return docs.size();
  }

  /** The split's Parquet files with their row counts (read from the footers) and sizes, relative to {@code root}. */
  static List<Manifest.ShardFile> list(Path splitDir, Path root, Configuration conf, long expectedRows) {
    List<Manifest.ShardFile> files = new ArrayList<>();
    try {
      FileSystem fs = splitDir.getFileSystem(conf);
      if (!fs.exists(splitDir)) {
        return files;
      }
      long rows = 0;
      List<FileStatus> statuses = new ArrayList<>(List.of(fs.listStatus(splitDir, p -> p.getName().endsWith(".parquet"))));
      statuses.sort((a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
      for (FileStatus status : statuses) {
        long count;
        try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromStatus(status, conf))) {
          count = reader.getRecordCount();
        }
        rows += count;
        files.add(new Manifest.ShardFile(root.getName().isEmpty() ? status.getPath().getName()
            : splitDir.getName() + "/" + status.getPath().getName(), count, status.getLen()));
      }
      if (rows != expectedRows) {
        throw new IllegalStateException(splitDir + ": wrote " + rows + " rows, expected " + expectedRows);
      }
      return files;
    } catch (IOException e) {
      throw new dev.sparkgpt.io.InputException(splitDir + ": cannot list written shards: " + e.getMessage(), e);
    }
  }

  /** Cuts each encoded piece into the fragments of the rows of one split, keyed by row index. */
  static final class ToFragments implements PairFlatMapFunction<Pieces.Encoded, Long, BlockPacker.Fragment> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<BlockPacker.Placement> placement;
    private final int split;
    private final int seqLen;

    ToFragments(Broadcast<BlockPacker.Placement> placement, int split, int seqLen) {
      this.placement = placement;
      this.split = split;
      this.seqLen = seqLen;
    }

    @Override
    public Iterator<Tuple2<Long, BlockPacker.Fragment>> call(Pieces.Encoded piece) {
      BlockPacker.Placement p = placement.value();
      List<BlockPacker.Segment> segments = p.segments().get(new BlockPacker.PieceKey(piece.docId(), piece.piece()));
      List<Tuple2<Long, BlockPacker.Fragment>> out = new ArrayList<>();
      for (BlockPacker.Segment seg : segments) {
        if (seg.split() != split) {
          continue;
        }
        for (BlockPacker.Fragment f : BlockPacker.fragments(piece.ids(), piece.docId(), List.of(seg), seqLen,
            p.splitTokens())) {
          out.add(new Tuple2<>(f.row(), f));
        }
      }
      return out.iterator();
    }
  }

  /** Contiguous row ranges per shard, so each file is one stretch of the stream and rows stay in order. */
  static final class RowRanges extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final long rows;
    private final int shards;

    RowRanges(long rows, int shards) {
      this.rows = rows;
      this.shards = shards;
    }

    @Override
    public int numPartitions() {
      return shards;
    }

    @Override
    public int getPartition(Object key) {
      return (int) ((Long) key * shards / rows);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof RowRanges r && r.rows == rows && r.shards == shards;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(rows) * 31 + shards;
    }
  }

  /** Joins the sorted fragments of each row into a Spark row of the shard schema. */
  static final class AssembleRows implements FlatMapFunction<Iterator<Tuple2<Long, BlockPacker.Fragment>>, Row> {
    private static final long serialVersionUID = 1L;
    private final int seqLen;
    private final long total;
    private final int padId;

    AssembleRows(int seqLen, long total, int padId) {
      this.seqLen = seqLen;
      this.total = total;
      this.padId = padId;
    }

    @Override
    public Iterator<Row> call(Iterator<Tuple2<Long, BlockPacker.Fragment>> sorted) {
      List<Row> rows = new ArrayList<>();
      List<BlockPacker.Fragment> current = new ArrayList<>();
      long currentRow = -1;
      while (sorted.hasNext()) {
        Tuple2<Long, BlockPacker.Fragment> next = sorted.next();
        if (next._1() != currentRow && !current.isEmpty()) {
          rows.add(toRow(BlockPacker.assemble(currentRow, current, seqLen, total, padId)));
          current.clear();
        }
        currentRow = next._1();
        current.add(next._2());
      }
      if (!current.isEmpty()) {
        rows.add(toRow(BlockPacker.assemble(currentRow, current, seqLen, total, padId)));
      }
      return rows.iterator();
    }

    private static Row toRow(BlockPacker.Row row) {
      return RowFactory.create(row.tokens(), row.length(), row.docId(), row.offset());
    }
  }
}
