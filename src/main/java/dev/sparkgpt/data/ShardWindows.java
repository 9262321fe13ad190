package dev.sparkgpt.data;

import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.util.SerializableConfiguration;

/**
 * A split's training windows as blocks of at most {@code blockRows} consecutive rows of one shard, planned from
 * manifest.json alone: every row but the split's last is full (docs/shard-format.md), so a row gives ⌊S / T⌋
 * windows and the last one as many as its length allows — no token is read to plan. {@link #read} runs where the
 * block is needed (an executor): it opens the shard through the Hadoop FileSystem, decodes only the row groups
 * holding the block and checks that the rows are the ones planned (count, stream offset, length), naming file and
 * row group when they are not.
 */
public final class ShardWindows implements WindowSource {
  private static final long serialVersionUID = 1L;

  /** Rows [{@code from}, {@code from + rows}) of a shard; {@code firstRow} is the first one's index in the split. */
  record Block(Manifest.ShardFile shard, long from, int rows, long firstRow, int windows)
      implements java.io.Serializable {}

  private final String dir;
  private final String split;
  private final int context;
  private final int seqLen;
  private final long splitTokens;
  private final List<Block> blocks;
  private final long windows;
  private final SerializableConfiguration conf;
  private transient ShardReader reader;

  private ShardWindows(String dir, String split, int context, int seqLen, long splitTokens, List<Block> blocks,
      Configuration conf) {
    this.dir = dir;
    this.split = split;
    this.context = context;
    this.seqLen = seqLen;
    this.splitTokens = splitTokens;
    this.blocks = List.copyOf(blocks);
    this.windows = blocks.stream().mapToLong(Block::windows).sum();
    this.conf = new SerializableConfiguration(conf);
  }

  /** Plans {@code split} of {@code reader}'s output in blocks of at most {@code blockRows} rows. */
  public static ShardWindows plan(ShardReader reader, String split, int context, int blockRows, Configuration conf) {
    if (blockRows < 1) {
      throw new IllegalArgumentException("block rows must be ≥ 1, got " + blockRows);
    }
    Manifest m = reader.manifest();
    Manifest.SplitInfo info = m.splits().get(split);
    if (info == null) {
      throw new ShardFormatException(new org.apache.hadoop.fs.Path(reader.dir(), Manifest.FILE) + ": no split '"
          + split + "' (have " + m.splits().keySet() + ")");
    }
    List<Block> blocks = new ArrayList<>();
    long row = 0;
    for (Manifest.ShardFile shard : info.shards()) {
      for (long from = 0; from < shard.rows(); from += blockRows) {
        int rows = (int) Math.min(blockRows, shard.rows() - from);
        int w = 0;
        for (long r = row + from; r < row + from + rows; r++) {
          w += rowWindows(rowLength(r, m.seqLen(), info.tokens(), m.rowTokens()), m.seqLen(), context);
        }
        if (w > 0) {
          blocks.add(new Block(shard, from, rows, row + from, w));
        }
      }
      row += shard.rows();
    }
    return new ShardWindows(reader.dir().toString(), split, context, m.seqLen(), info.tokens(), blocks, conf);
  }

  /** Real tokens of row {@code row} of a split of {@code tokens} stream tokens: S + 1, the last one fewer. */
  static int rowLength(long row, int seqLen, long tokens, int rowTokens) {
    return (int) Math.max(0, Math.min(rowTokens, tokens - row * seqLen));
  }

  /** Windows of T + 1 tokens at offsets 0, T, 2T… of a row holding {@code length} real tokens (as fromRows cuts). */
  static int rowWindows(int length, int seqLen, int context) {
    int n = 0;
    for (int start = 0; start + context <= seqLen; start += context) {
      if (Math.min(context + 1, length - start) < 2) {
        break;
      }
      n++;
    }
    return n;
  }

  @Override
  public int blocks() {
    return blocks.size();
  }

  @Override
  public int windows(int block) {
    return blocks.get(block).windows();
  }

  @Override
  public long windows() {
    return windows;
  }

  @Override
  public int context() {
    return context;
  }

  @Override
  public String id() {
    return dir + "#" + split + "@" + context;
  }

  /** The shard file and rows of {@code block}, for messages. */
  public String describe(int block) {
    Block b = blocks.get(block);
    return dir + "/" + b.shard().path() + " rows " + b.from() + ".." + (b.from() + b.rows() - 1);
  }

  @Override
  public TrainingWindows read(int block) {
    Block b = blocks.get(block);
    if (reader == null) {
      reader = ShardReader.open(dir, conf.value());
    }
    List<ShardReader.ShardRow> rows = new ArrayList<>(b.rows());
    long[] expect = {b.firstRow()};
    // the shard's first block checks its SHA-256: once per shard and epoch, by whoever reads it
    reader.readRange(b.shard(), b.from(), b.rows(), b.from() == 0, row -> {
      long r = expect[0]++;
      int length = rowLength(r, seqLen, splitTokens, reader.manifest().rowTokens());
      if (row.offset() != r * seqLen || row.length() != length) {
        throw new ShardFormatException(describe(block) + ": row " + (r - b.firstRow() + b.from()) + " is at stream "
            + "offset " + row.offset() + " with length " + row.length() + ", but " + Manifest.FILE + " places it at "
            + r * seqLen + " with length " + length + ". Fix: re-run sparkgpt tokenize with --overwrite");
      }
      rows.add(row);
    });
    if (rows.size() != b.rows()) {
      throw new ShardFormatException(describe(block) + ": read " + rows.size() + " rows, expected " + b.rows()
          + ". Fix: re-run sparkgpt tokenize with --overwrite");
    }
    TrainingWindows w = TrainingWindows.fromRows(rows, context);
    if (w.size() != b.windows()) {
      throw new ShardFormatException(describe(block) + ": gives " + w.size() + " windows, " + Manifest.FILE
          + " plans " + b.windows() + ". Fix: re-run sparkgpt tokenize with --overwrite");
    }
    return w;
  }
}
