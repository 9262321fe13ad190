package dev.sparkgpt.data;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The document lengths of one split, counted from its rows in stream order (docs/shard-format.md): the tokens
 * between {@code <|endoftext|>} separators. Consecutive rows share one token, so every row after the first is read
 * from its second token; padding after a row's {@code length} is ignored. Tokens after the last separator belong to
 * a document the split cut off (split: tokens); with split: tokens a split's first document may be cut too.
 */
public final class DocumentLengths implements Consumer<ShardReader.ShardRow> {
  private final int separator;
  private final TreeMap<Integer, Long> counts = new TreeMap<>();
  private boolean first = true;
  private int current;
  private long documents;
  private long tokens;

  /** Counts documents ended by {@code separator} (the manifest's eot_id). */
  public DocumentLengths(int separator) {
    this.separator = separator;
  }

  /** The lengths of every split of {@code reader}'s output, in the manifest's split order. */
  public static Map<String, DocumentLengths> of(ShardReader reader) {
    Map<String, DocumentLengths> out = new java.util.LinkedHashMap<>();
    for (String split : reader.manifest().splits().keySet()) {
      DocumentLengths lengths = new DocumentLengths(reader.manifest().tokenizer().eotId());
      reader.forEachRow(split, -1, lengths);
      out.put(split, lengths);
    }
    return out;
  }

  @Override
  public void accept(ShardReader.ShardRow row) {
    for (int i = first ? 0 : 1; i < row.length(); i++) {
      if (row.tokens()[i] == separator) {
        counts.merge(current, 1L, Long::sum);
        documents++;
        tokens += current;
        current = 0;
      } else {
        current++;
      }
    }
    first = false;
  }

  /** Documents ended by a separator. */
  public long documents() {
    return documents;
  }

  /** Tokens after the last separator: a document cut off by the end of the split (0 normally). */
  public int unterminated() {
    return current;
  }

  /** Documents per length in tokens, shortest first. */
  public Map<Integer, Long> counts() {
    return java.util.Collections.unmodifiableMap(counts);
  }

  public int min() {
    return counts.isEmpty() ? 0 : counts.firstKey();
  }

  public int max() {
    return counts.isEmpty() ? 0 : counts.lastKey();
  }

  /** Mean length in tokens (0 without documents). */
  public double mean() {
    return documents == 0 ? 0 : (double) tokens / documents;
  }

  /** The length at quantile {@code q} in [0, 1]: the smallest length with at least q of the documents at or below. */
  public int quantile(double q) {
    long rank = Math.max(1, (long) Math.ceil(q * documents));
    long seen = 0;
    for (Map.Entry<Integer, Long> e : counts.entrySet()) {
      seen += e.getValue();
      if (seen >= rank) {
        return e.getKey();
      }
    }
    return 0;
  }
}
