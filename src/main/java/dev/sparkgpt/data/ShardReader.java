package dev.sparkgpt.data;

import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.OutputDir;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Opens a finished tokenize output and reads its rows without Spark (the local trainer, inspect, tests). Checks
 * the manifest, the shard files it lists, their schema and row counts before handing out a row.
 */
public final class ShardReader {
  private final Path dir;
  private final Manifest manifest;
  private final Configuration conf;

  private ShardReader(Path dir, Manifest manifest, Configuration conf) {
    this.dir = dir;
    this.manifest = manifest;
    this.conf = conf;
  }

  /** Opens {@code dir}; fails naming the file when the manifest, _SUCCESS or a listed shard is missing or wrong. */
  public static ShardReader open(String dir, Configuration conf) {
    Path root = new Path(dir);
    Path manifestPath = new Path(root, Manifest.FILE);
    try {
      FileSystem fs = root.getFileSystem(conf);
      if (!fs.exists(manifestPath)) {
        throw new ShardFormatException(dir + ": no " + Manifest.FILE + ", so not a tokenize output. Fix: run "
            + "'sparkgpt tokenize --input ... --output " + dir + "'");
      }
      if (!fs.exists(new Path(root, OutputDir.SUCCESS))) {
        throw new ShardFormatException(dir + ": no " + OutputDir.SUCCESS + ": the tokenize run did not finish. Fix: "
            + "re-run sparkgpt tokenize with --overwrite");
      }
    } catch (IOException e) {
      throw new InputException(dir + ": cannot read: " + e.getMessage(), e);
    }
    Manifest manifest;
    try {
      manifest = JsonFiles.read(manifestPath, Manifest.class, conf);
    } catch (InputException e) {
      throw new ShardFormatException(e.getMessage() + ". Fix: re-run sparkgpt tokenize with --overwrite", e);
    }
    if (!ShardSchema.FORMAT.equals(manifest.format()) || manifest.formatVersion() != ShardSchema.FORMAT_VERSION) {
      throw new ShardFormatException(manifestPath + ": format " + manifest.format() + " v" + manifest.formatVersion()
          + ", expected " + ShardSchema.FORMAT + " v" + ShardSchema.FORMAT_VERSION + ". Fix: re-run sparkgpt tokenize");
    }
    return new ShardReader(root, manifest, conf);
  }

  public Manifest manifest() {
    return manifest;
  }

  public Path dir() {
    return dir;
  }

  /** Fails unless the shards were made with {@code tokenizer} (same vocabulary hash). */
  public void checkTokenizer(Tokenizer tokenizer) {
    Manifest.TokenizerInfo made = manifest.tokenizer();
    if (!made.hash().equals(tokenizer.hash())) {
      throw new ShardFormatException(new Path(dir, Manifest.FILE) + ": shards were tokenized with '" + made.name()
          + "' (hash " + made.hash().substring(0, 12) + "…), but the tokenizer in use is '" + tokenizer.name()
          + "' (hash " + tokenizer.hash().substring(0, 12) + "…). Fix: use the same tokenizer, or re-run sparkgpt "
          + "tokenize with --tokenizer matching the model");
    }
  }

  /** One packed row: {@code tokens} has seq_len + 1 ids, of which the first {@code length} are real. */
  public record ShardRow(int[] tokens, int length, long docId, long offset) {}

  /** The rows of a split in stream order, at most {@code limit} (negative = all). */
  public List<ShardRow> readRows(String split, long limit) {
    List<ShardRow> rows = new ArrayList<>();
    forEachRow(split, limit, rows::add);
    return rows;
  }

  /**
   * Hands the rows of a split to {@code action} in stream order, at most {@code limit} (negative = all), one at a
   * time: a whole split can be scanned in constant memory.
   */
  public void forEachRow(String split, long limit, Consumer<ShardRow> action) {
    Manifest.SplitInfo info = manifest.splits().get(split);
    if (info == null) {
      throw new ShardFormatException(new Path(dir, Manifest.FILE) + ": no split '" + split + "' (have "
          + manifest.splits().keySet() + ")");
    }
    long read = 0;
    for (Manifest.ShardFile shard : info.shards()) {
      if (limit >= 0 && read >= limit) {
        break;
      }
      read += readShard(new Path(dir, shard.path()), shard, action, limit < 0 ? -1 : limit - read);
    }
  }

  /** Reads up to {@code limit} rows (negative = all) of one shard into {@code action}; returns how many. */
  private long readShard(Path file, Manifest.ShardFile shard, Consumer<ShardRow> action, long limit) {
    return readRange(file, shard, 0, limit < 0 ? shard.rows() : Math.min(limit, shard.rows()), true, action);
  }

  /**
   * Rows [{@code from}, {@code from + count}) of one shard of this output into {@code action}, decoding only the row
   * groups that hold them (one at a time); {@code checksum} also checks the file's SHA-256 first. Every row is
   * checked (width, ids within the vocabulary, length); a bad one names the file, row group and row.
   */
  public long readRange(Manifest.ShardFile shard, long from, long count, boolean checksum,
      Consumer<ShardRow> action) {
    return readRange(new Path(dir, shard.path()), shard, from, count, checksum, action);
  }

  private long readRange(Path file, Manifest.ShardFile shard, long from, long count, boolean checksum,
      Consumer<ShardRow> action) {
    long expectedRows = shard.rows();
    int rowTokens = manifest.rowTokens();
    int vocab = manifest.tokenizer().vocabSize();
    int group = -1;
    long groupStart = 0;
    long read = 0;
    try {
      FileSystem fs = file.getFileSystem(conf);
      if (!fs.exists(file)) {
        throw new ShardFormatException(file + ": listed in " + Manifest.FILE + " but missing. Fix: re-run sparkgpt "
            + "tokenize with --overwrite");
      }
      FileStatus status = fs.getFileStatus(file);
      if (checksum) {
        checkSum(file, shard);
      }
      try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromStatus(status, conf))) {
        MessageType schema = reader.getFooter().getFileMetaData().getSchema();
        checkSchema(file, schema);
        if (reader.getRecordCount() != expectedRows) {
          throw new ShardFormatException(file + ": holds " + reader.getRecordCount() + " rows, " + Manifest.FILE
              + " says " + expectedRows + ". Fix: re-run sparkgpt tokenize with --overwrite");
        }
        MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
        List<BlockMetaData> groups = reader.getRowGroups();
        for (group = 0; group < groups.size() && read < count; group++) {
          long groupRows = groups.get(group).getRowCount();
          if (groupStart + groupRows <= from) { // before the range: not decoded
            reader.skipNextRowGroup();
            groupStart += groupRows;
            continue;
          }
          PageReadStore pages = reader.readNextRowGroup();
          RecordReader<Group> records = io.getRecordReader(pages, new GroupRecordConverter(schema));
          for (long i = 0; i < groupRows && read < count; i++) {
            Group g = records.read();
            long row = groupStart + i;
            if (row >= from) {
              action.accept(toRow(file, group, row, g, rowTokens, vocab));
              read++;
            }
          }
          groupStart += groupRows;
        }
      }
      return read;
    } catch (ShardFormatException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new ShardFormatException(file + (group >= 0 ? ": row group " + group + " (from row " + groupStart + ")"
          : "") + ": not a readable Parquet shard (" + e.getMessage() + "). Fix: re-run sparkgpt tokenize with "
          + "--overwrite", e);
    }
  }

  private static ShardRow toRow(Path file, int group, long row, Group g, int rowTokens, int vocab) {
    Group list = g.getGroup(ShardSchema.TOKENS, 0);
    int n = list.getFieldRepetitionCount(0);
    String where = file + ": row group " + group + ", row " + row;
    if (n != rowTokens) {
      throw new ShardFormatException(where + " holds " + n + " tokens, expected " + rowTokens + ". Fix: re-run "
          + "sparkgpt tokenize with --overwrite");
    }
    int[] tokens = new int[n];
    for (int i = 0; i < n; i++) {
      tokens[i] = list.getGroup(0, i).getInteger(0, 0);
      if (tokens[i] < 0 || tokens[i] >= vocab) {
        throw new ShardFormatException(where + " holds token id " + tokens[i] + " at position " + i + ", outside "
            + "the vocabulary [0, " + vocab + "). Fix: re-run sparkgpt tokenize with --overwrite");
      }
    }
    int length = g.getInteger(ShardSchema.LENGTH, 0);
    if (length < 1 || length > rowTokens) {
      throw new ShardFormatException(where + " has length " + length + ", expected 1.." + rowTokens + ". Fix: re-run "
          + "sparkgpt tokenize with --overwrite");
    }
    return new ShardRow(tokens, length, g.getLong(ShardSchema.DOC_ID, 0), g.getLong(ShardSchema.OFFSET, 0));
  }

  /** Fails naming the file when its SHA-256 differs from the manifest's (shards written before checksums: skipped). */
  private void checkSum(Path file, Manifest.ShardFile shard) throws IOException {
    if (shard.sha256() == null) {
      return;
    }
    String actual = ShardWriter.sha256(file, conf);
    if (!actual.equalsIgnoreCase(shard.sha256())) {
      throw new ShardFormatException(file + ": SHA-256 " + actual.substring(0, 16) + "… differs from "
          + Manifest.FILE + " (" + shard.sha256().substring(0, 16) + "…): the file is corrupt or was changed. Fix: "
          + "restore it or re-run sparkgpt tokenize with --overwrite");
    }
  }

  /**
   * Checks every shard of every split against the manifest: present, its size, its SHA-256, its row count and
   * schema. Returns one line per problem (empty when all is well); {@code checked} receives each file checked.
   */
  public List<String> verify(Consumer<String> checked) {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, Manifest.SplitInfo> split : manifest.splits().entrySet()) {
      for (Manifest.ShardFile shard : split.getValue().shards()) {
        Path file = new Path(dir, shard.path());
        try {
          FileSystem fs = file.getFileSystem(conf);
          if (!fs.exists(file)) {
            problems.add(file + ": listed in " + Manifest.FILE + " but missing");
            continue;
          }
          FileStatus status = fs.getFileStatus(file);
          if (status.getLen() != shard.bytes()) {
            problems.add(file + ": " + status.getLen() + " bytes, " + Manifest.FILE + " says " + shard.bytes());
            continue;
          }
          checkSum(file, shard);
          try (ParquetFileReader footer = ParquetFileReader.open(HadoopInputFile.fromStatus(status, conf))) {
            checkSchema(file, footer.getFooter().getFileMetaData().getSchema());
            if (footer.getRecordCount() != shard.rows()) {
              problems.add(file + ": holds " + footer.getRecordCount() + " rows, " + Manifest.FILE + " says "
                  + shard.rows());
            }
          }
          checked.accept(shard.path() + (shard.sha256() == null ? " (no checksum recorded)" : ""));
        } catch (ShardFormatException e) {
          problems.add(e.getMessage());
        } catch (IOException | RuntimeException e) {
          problems.add(file + ": not a readable Parquet shard (" + e.getMessage() + ")");
        }
      }
    }
    return problems;
  }

  private static void checkSchema(Path file, MessageType schema) {
    if (!schema.containsField(ShardSchema.TOKENS)) {
      throw new ShardFormatException(file + ": no column \"" + ShardSchema.TOKENS + "\"");
    }
    Type tokens = schema.getType(ShardSchema.TOKENS);
    Type element = tokens.isPrimitive() ? tokens : leaf(tokens.asGroupType());
    if (!element.isPrimitive() || element.asPrimitiveType().getPrimitiveTypeName()
        != PrimitiveType.PrimitiveTypeName.INT32) {
      throw new ShardFormatException(file + ": column \"" + ShardSchema.TOKENS + "\" holds "
          + (element.isPrimitive() ? element.asPrimitiveType().getPrimitiveTypeName() : element)
          + ", expected INT32. Fix: re-run sparkgpt tokenize");
    }
  }

  private static Type leaf(GroupType group) {
    Type t = group;
    while (!t.isPrimitive()) {
      t = t.asGroupType().getType(0);
    }
    return t;
  }
}
