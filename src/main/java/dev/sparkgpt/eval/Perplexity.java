package dev.sparkgpt.eval;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardFormatException;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Perplexity, mean NLL and bits per byte of held-out data, every target token scored exactly once:
 *
 * <ul>
 *   <li><b>shards</b> (a tokenize output directory): each row of the split scores its tokens 1..length−1 (token 0
 *   is the previous row's last target: rows overlap by one). Bytes: the scored targets of all rows, in stream
 *   order, cut at each end-of-text id, each piece decoded and its UTF-8 bytes counted; end-of-text tokens are
 *   scored (the model must predict where a document ends) but count no bytes. Decoding whole pieces, not single
 *   tokens, keeps a character split across tokens from being counted as replacement characters.</li>
 *   <li><b>text</b> (a .txt file): the file is one document, encoded as end-of-text + encode(text) so that its first
 *   token is scored too (the harness's rolling log-likelihood); bytes are the text's UTF-8 bytes.</li>
 * </ul>
 *
 * A token stream longer than the model's context is scored in windows ({@link #windows}): targets in chunks of
 * {@code stride} tokens, each chunk seeing up to {@code context} tokens before it. stride = context gives
 * non-overlapping windows (fast); a smaller stride gives every target more context (lower, fairer perplexity).
 */
public final class Perplexity {
  private Perplexity() {}

  /**
   * Requests scoring {@code tokens[1..length)} once each: targets {@code [a, a+stride)} with context
   * {@code tokens[max(0, a+stride−1−context) .. a)}, so no request exceeds context + 1 tokens.
   */
  public static List<Request> windows(int[] tokens, int length, int context, int stride) {
    if (stride < 1 || stride > context) {
      throw new IllegalArgumentException("stride must be in 1.." + context + ", got " + stride);
    }
    List<Request> requests = new ArrayList<>();
    for (int a = 1; a < length; a += stride) {
      int b = Math.min(a + stride, length);
      int from = Math.max(0, b - 1 - context);
      requests.add(new Request(Arrays.copyOfRange(tokens, from, a), Arrays.copyOfRange(tokens, a, b)));
    }
    return requests;
  }

  /**
   * Scores {@code path}: a tokenize output (directory with manifest.json; {@code split}, at most {@code maxRows}
   * rows, negative = all) or a .txt file. {@code stride} 0 means the model's context.
   */
  public static PerplexityResult evaluate(String path, String split, long maxRows, int stride, Tokenizer tokenizer,
      ScoringModel shape, RequestRunner runner, Configuration conf) {
    int context = shape.contextLength();
    int step = stride == 0 ? context : stride;
    if (step < 1 || step > context) {
      throw new ConfigException("perplexity_stride", stride + " is outside 0.." + context + " (the model's context)",
          "use 0 (= context, non-overlapping windows) or a smaller stride");
    }
    long start = System.nanoTime();
    Path file = new Path(path);
    boolean directory;
    try {
      FileSystem fs = file.getFileSystem(conf);
      if (!fs.exists(file)) {
        throw new InputException(path + ": not found. Fix: pass the --output of sparkgpt tokenize, or a .txt file");
      }
      directory = fs.getFileStatus(file).isDirectory();
    } catch (IOException e) {
      throw new InputException(path + ": cannot read: " + e.getMessage(), e);
    }
    if (directory) {
      return shards(path, split, maxRows, step, tokenizer, shape, runner, conf, start);
    }
    if (path.endsWith(".txt")) {
      return text(path, step, tokenizer, shape, runner, conf, start);
    }
    throw new InputException(path + ": cannot measure perplexity on this file: expected a tokenize output directory"
        + " (with " + Manifest.FILE + ") or a .txt file");
  }

  private static PerplexityResult shards(String path, String split, long maxRows, int stride, Tokenizer tokenizer,
      ScoringModel shape, RequestRunner runner, Configuration conf, long start) {
    ShardReader reader = ShardReader.open(path, conf);
    reader.checkTokenizer(tokenizer);
    int shardVocab = reader.manifest().tokenizer().vocabSize();
    if (shardVocab > shape.vocabSize()) {
      throw new ShardFormatException(path + ": shards use a vocabulary of " + shardVocab + " ids, the model has "
          + shape.vocabSize() + ". Fix: tokenize with the model's tokenizer");
    }
    List<ShardReader.ShardRow> rows = reader.readRows(split, maxRows);
    PerplexityResult result = rows(rows, stride, tokenizer, shape, runner, start, path, split);
    if (result.tokens() == 0) {
      throw new ShardFormatException(path + ": split '" + split + "' has no tokens to score. Fix: evaluate another "
          + "split (perplexity_split) or tokenize with a larger val_fraction");
    }
    return result;
  }

  /** Scores shard rows (each row's tokens 1..length−1) and counts their bytes; {@code start} is System.nanoTime(). */
  static PerplexityResult rows(List<ShardReader.ShardRow> rows, int stride, Tokenizer tokenizer, ScoringModel shape,
      RequestRunner runner, long start, String path, String split) {
    List<Request> requests = new ArrayList<>();
    long tokens = 0;
    for (ShardReader.ShardRow row : rows) {
      requests.addAll(windows(row.tokens(), row.length(), shape.contextLength(), stride));
      tokens += Math.max(0, row.length() - 1);
    }
    double logProbs = sum(runner.score(requests));
    long bytes = shardTargetBytes(rows, tokenizer);
    return PerplexityResult.of(logProbs, tokens, bytes, (System.nanoTime() - start) / 1e9, "shards", split, path);
  }

  private static PerplexityResult text(String path, int stride, Tokenizer tokenizer, ScoringModel shape,
      RequestRunner runner, Configuration conf, long start) {
    String text = readText(path, conf);
    int[] encoded = tokenizer.encode(text);
    if (encoded.length == 0) {
      throw new InputException(path + ": empty text, nothing to score");
    }
    int[] stream = new int[encoded.length + 1];
    stream[0] = tokenizer.eotId();
    System.arraycopy(encoded, 0, stream, 1, encoded.length);
    double logProbs = sum(runner.score(windows(stream, stream.length, shape.contextLength(), stride)));
    long bytes = text.getBytes(StandardCharsets.UTF_8).length;
    return PerplexityResult.of(logProbs, encoded.length, bytes, (System.nanoTime() - start) / 1e9, "text", null,
        path);
  }

  /** UTF-8 bytes of the rows' scored targets: cut at end-of-text ids (which count 0), each piece decoded whole. */
  static long shardTargetBytes(List<ShardReader.ShardRow> rows, Tokenizer tokenizer) {
    int eot = tokenizer.eotId();
    long bytes = 0;
    int[] piece = new int[256];
    int size = 0;
    for (ShardReader.ShardRow row : rows) {
      for (int i = 1; i < row.length(); i++) {
        int id = row.tokens()[i];
        if (id == eot) {
          bytes += utf8Bytes(tokenizer, piece, size);
          size = 0;
          continue;
        }
        if (size == piece.length) {
          piece = Arrays.copyOf(piece, size * 2);
        }
        piece[size++] = id;
      }
    }
    return bytes + utf8Bytes(tokenizer, piece, size);
  }

  private static long utf8Bytes(Tokenizer tokenizer, int[] ids, int size) {
    return size == 0 ? 0 : tokenizer.decode(Arrays.copyOf(ids, size)).getBytes(StandardCharsets.UTF_8).length;
  }

  private static double sum(Score[] scores) {
    double sum = 0;
    for (Score s : scores) {
      sum += s.logProb();
    }
    return sum;
  }

  private static String readText(String path, Configuration conf) {
    Path file = new Path(path);
    try (InputStream in = file.getFileSystem(conf).open(file)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new InputException(path + ": cannot read: " + e.getMessage(), e);
    }
  }
}
