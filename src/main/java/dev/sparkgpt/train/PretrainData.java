package dev.sparkgpt.train;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardFormatException;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.data.ShardWindows;
import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.data.WindowSource;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The data of a pretraining run, checked against the model: from token shards, the train split as blocks planned
 * from the manifest (read by whoever trains on them, never here) and the first {@code valWindows} val windows; from
 * a text file, its windows in memory.
 */
public record PretrainData(WindowSource train, TrainingWindows val, String source) {
  /** Train tokens the unigram baseline counts at most (read on the driver, streaming). */
  static final long BASELINE_TOKENS = 2_000_000;

  /**
   * Plans and checks the data for a model of {@code contextLength} and {@code vocabSize}; of the val split only the
   * first {@code valWindows} windows are read (what evaluation uses).
   */
  public static PretrainData load(PretrainConfig.Data data, int contextLength, int vocabSize, Tokenizer tokenizer,
      long valWindows, Configuration conf) {
    if (tokenizer.vocabSize() > vocabSize) {
      throw new ConfigException("model.vocab_size", vocabSize + " is smaller than the tokenizer's vocabulary ("
          + tokenizer.name() + ": " + tokenizer.vocabSize() + " ids)", "set model.vocab_size ≥ " + tokenizer.vocabSize());
    }
    if (data.shards() != null) {
      ShardReader reader = ShardReader.open(data.shards(), conf);
      reader.checkTokenizer(tokenizer);
      Manifest m = reader.manifest();
      if (m.seqLen() < contextLength) {
        throw new ShardFormatException(data.shards() + ": rows hold seq_len=" + m.seqLen() + " tokens, shorter than "
            + "the model's context_length=" + contextLength + ". Fix: re-run tokenize with --seq-len "
            + contextLength + " (or more), or set model.context_length ≤ " + m.seqLen());
      }
      ShardWindows train = ShardWindows.plan(reader, "train", contextLength, data.blockRows(), conf);
      int perRow = Math.max(1, m.seqLen() / contextLength);
      TrainingWindows val = m.splits().containsKey("val") ? TrainingWindows.fromRows(reader.readRows("val",
          valWindows / perRow + 1), contextLength) : TrainingWindows.fromStream(new int[0], contextLength, 1);
      if (train.windows() == 0) {
        throw new ShardFormatException(data.shards() + ": the train split has no window of " + (contextLength + 1)
            + " tokens. Fix: tokenize more text or use a shorter context");
      }
      return new PretrainData(train, val, data.shards());
    }
    int[] ids = tokenizer.encode(readText(new Path(data.text()), conf));
    ids = Arrays.copyOf(ids, ids.length + 1);
    ids[ids.length - 1] = tokenizer.eotId();
    int split = (int) Math.round(ids.length * (1 - data.valFraction()));
    int stride = data.stride() == 0 ? contextLength : data.stride();
    TrainingWindows train = TrainingWindows.fromStream(Arrays.copyOfRange(ids, 0, split), contextLength, stride);
    TrainingWindows val = TrainingWindows.fromStream(Arrays.copyOfRange(ids, split, ids.length), contextLength,
        contextLength);
    if (train.size() == 0) {
      throw new InputException(data.text() + ": " + ids.length + " tokens give no training window of "
          + (contextLength + 1) + " tokens. Fix: use more text or a shorter model.context_length");
    }
    return new PretrainData(WindowSource.inMemory(train), val, data.text());
  }

  /**
   * Val loss of a unigram model of the train targets (add-one smoothed): the baseline a language model must beat.
   * Counts the first {@link #BASELINE_TOKENS} train tokens, a block at a time.
   */
  public double unigramBaseline(int vocab) {
    long[] counts = new long[vocab];
    long total = 0;
    for (int b = 0; b < train.blocks() && total < BASELINE_TOKENS; b++) {
      TrainingWindows w = train.read(b);
      total += w.countTargets(counts);
    }
    return TrainingWindows.unigramLoss(counts, total, val);
  }

  private static String readText(Path path, Configuration conf) {
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) {
        throw new InputException(path + ": data.text not found. Fix: point data.text at a UTF-8 text file");
      }
      try (InputStream in = fs.open(path)) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new InputException(path + ": cannot read: " + e.getMessage(), e);
    }
  }
}
