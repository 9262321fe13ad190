package dev.sparkgpt.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Writes the packed rows of each split as zstd Parquet files, one per block and split, with no shuffle (see
 * {@link BlockLayout}), and lists them for the manifest from what the tasks committed.
 */
public final class ShardFiles {
  /** The Spark job description of the write pass (the UI shows it; tests find the pass by it). */
  public static final String WRITE_JOB = "tokenize: write shards";

  private ShardFiles() {}

  /**
   * Writes train/ and val/ under {@code dir}, pages compressed at {@code zstdLevel}; returns each split's counts and
   * files (with SHA-256).
   */
  public static Map<String, Manifest.SplitInfo> write(SparkSession spark, JavaRDD<EncodedBlock> blocks,
      BlockLayout layout, int padId, int zstdLevel, Path dir) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    Configuration writing = new Configuration(hadoop);
    writing.setInt(ShardWriter.ZSTD_LEVEL_KEY, zstdLevel);
    Broadcast<BlockLayout> shared = jsc.broadcast(layout);
    List<BlockWriter.Result> results;
    spark.sparkContext().setJobDescription(WRITE_JOB);
    try {
      results = blocks.map(new WriteBlock(shared, dir.toString(), padId, new SerializableConfiguration(writing)))
          .collect();
    } finally {
      spark.sparkContext().setJobDescription(null);
      shared.destroy();
    }
    Map<String, Manifest.SplitInfo> splits = new LinkedHashMap<>();
    for (int split = 0; split < 2; split++) {
      List<Manifest.ShardFile> files = new ArrayList<>();
      long documents = 0;
      long rows = 0;
      for (BlockWriter.Result r : results) {
        documents += r.documents()[split];
        for (BlockWriter.Written w : r.files()) {
          if (w.split() == split) {
            files.add(new Manifest.ShardFile(w.path(), w.rows(), w.bytes(), w.sha256()));
            rows += w.rows();
          }
        }
      }
      files.sort(Comparator.comparing(Manifest.ShardFile::path));
      if (rows != layout.rows(split)) {
        throw new IllegalStateException(dir + ": wrote " + rows + " " + BlockPacker.SPLIT_NAMES[split]
            + " rows, expected " + layout.rows(split));
      }
      removeStrays(new Path(dir, BlockPacker.SPLIT_NAMES[split]), files, hadoop);
      splits.put(BlockPacker.SPLIT_NAMES[split], new Manifest.SplitInfo(layout.splitTokens()[split], rows,
          documents, files));
    }
    return splits;
  }

  /** Deletes what killed task attempts left in a split directory (files the manifest does not list). */
  private static void removeStrays(Path splitDir, List<Manifest.ShardFile> kept, Configuration conf) {
    try {
      FileSystem fs = splitDir.getFileSystem(conf);
      if (!fs.exists(splitDir)) {
        return;
      }
      Set<String> names = new HashSet<>();
      kept.forEach(f -> names.add(new Path(f.path()).getName()));
      for (FileStatus s : fs.listStatus(splitDir)) {
        String name = s.getPath().getName();
        if (!names.contains(name) && !name.endsWith(".crc")) {
          fs.delete(s.getPath(), false);
        }
      }
    } catch (IOException e) {
      throw new dev.sparkgpt.io.InputException(splitDir + ": cannot list written shards: " + e.getMessage(), e);
    }
  }

  /** Writes one block's rows (runs on an executor). */
  static final class WriteBlock implements Function<EncodedBlock, BlockWriter.Result> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<BlockLayout> layout;
    private final String dir;
    private final int padId;
    private final SerializableConfiguration conf;

    WriteBlock(Broadcast<BlockLayout> layout, String dir, int padId, SerializableConfiguration conf) {
      this.layout = layout;
      this.dir = dir;
      this.padId = padId;
      this.conf = conf;
    }

    @Override
    public BlockWriter.Result call(EncodedBlock block) throws IOException {
      TaskContext task = TaskContext.get();
      String attempt = task == null ? "local" : "attempt-" + task.taskAttemptId();
      return BlockWriter.write(block, layout.value(), new Path(dir), attempt, padId, conf.value());
    }
  }
}
