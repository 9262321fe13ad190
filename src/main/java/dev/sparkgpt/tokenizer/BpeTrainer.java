package dev.sparkgpt.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.regex.Matcher;

/**
 * Trains a byte-level BPE vocabulary as GPT-2's was made: corpus → pre-token counts → greedy merges of the most
 * frequent adjacent pair → {@link BpeVocabulary} (write it with {@link BpeVocabulary#writeTo}).
 *
 * <p>Ids: the 256 byte tokens first, in GPT-2's order (so byte ids equal GPT-2's), then one id per merge in merge
 * order, then {@code <|endoftext|>}. Pairs are counted over every adjacent position of every word (so "aaa" holds
 * the pair (a, a) twice), weighted by the word's count; a merge replaces non-overlapping occurrences left to right.
 * <b>Ties</b> between equally frequent pairs go to the smallest (left id, right id), so the result depends only on
 * the counts, never on map iteration order.
 *
 * <p>Pair counts are kept up to date incrementally: a merge revisits only the words that hold the merged pair (found
 * through a pair → words index), and a max-heap with lazy deletion yields the next pair.
 */
public final class BpeTrainer {
  private BpeTrainer() {}

  /** GPT-2's pre-tokens of {@code text}, in order; they concatenate back to {@code text}. */
  public static List<String> pretokenize(String text) {
    return PreTokenizer.split(text);
  }

  /** Pre-token → occurrences in {@code text}; merge the maps of many documents to train on a corpus. */
  public static Map<String, Long> countWords(String text) {
    Map<String, Long> counts = new HashMap<>();
    Matcher m = PreTokenizer.PATTERN.matcher(text);
    while (m.find()) {
      counts.merge(m.group(), 1L, Long::sum);
    }
    return counts;
  }

  /**
   * Learns up to {@code vocabSize - 257} merges from pre-token counts. Stops early when no adjacent pair is left, so
   * the vocabulary can be smaller than asked (its {@link BpeVocabulary#size()} says so).
   *
   * @param wordCounts pre-token (as from {@link #pretokenize}) → count; counts must be ≥ 0
   * @param vocabSize ids in all: 256 byte tokens + merges + {@code <|endoftext|>}, at least 257
   */
  public static BpeVocabulary train(Map<String, Long> wordCounts, int vocabSize) {
    if (vocabSize < 257) {
      throw new IllegalArgumentException("vocabSize must be at least 257 (256 byte tokens + <|endoftext|>), got "
          + vocabSize);
    }
    Words words = Words.of(wordCounts);
    List<byte[]> tokens = new ArrayList<>(vocabSize);
    Set<String> known = new HashSet<>();
    for (int id = 0; id < 256; id++) {
      tokens.add(new byte[] {(byte) ByteAlphabet.byteAt(id)});
      known.add(latin1(tokens.get(id)));
    }
    PairStats stats = new PairStats();
    for (int w = 0; w < words.size; w++) {
      stats.addWord(words.symbols[w], words.counts[w], w, -1);
    }
    stats.flush();

    int merges = vocabSize - 257;
    int[] left = new int[merges];
    int[] right = new int[merges];
    int[] result = new int[merges];
    int done = 0;
    while (done < merges) {
      long pair = stats.pollBest();
      if (pair < 0) {
        break;
      }
      int a = (int) (pair >>> 32);
      int b = (int) pair;
      int id = tokens.size();
      byte[] merged = concat(tokens.get(a), tokens.get(b));
      if (!known.add(latin1(merged))) {
        // GPT-2's files cannot hold two ids with the same bytes (encoder.json is keyed by them). Greedy training on
        // pre-tokens never makes one (BpeTrainerTest checks), so this would be a bug, not a property of the corpus.
        throw new IllegalStateException("merge " + a + "+" + b + " would duplicate an existing token");
      }
      tokens.add(merged);
      left[done] = a;
      right[done] = b;
      result[done++] = id;
      stats.merge(pair, id, words);
    }
    int eot = tokens.size();
    tokens.add(BpeVocabulary.ENDOFTEXT.getBytes(StandardCharsets.UTF_8));
    return new BpeVocabulary(tokens.toArray(new byte[0][]), eot, Arrays.copyOf(left, done),
        Arrays.copyOf(right, done), Arrays.copyOf(result, done));
  }

  private static String latin1(byte[] bytes) {
    return new String(bytes, StandardCharsets.ISO_8859_1); // one char per byte: a cheap exact key
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static long key(int a, int b) {
    return ((long) a << 32) | (b & 0xFFFFFFFFL);
  }

  /** Distinct words of two or more bytes as symbol ids, with their counts. */
  private static final class Words {
    int[][] symbols;
    long[] counts;
    int size;

    static Words of(Map<String, Long> wordCounts) {
      Words words = new Words();
      words.symbols = new int[wordCounts.size()][];
      words.counts = new long[wordCounts.size()];
      for (Map.Entry<String, Long> e : wordCounts.entrySet()) {
        long count = e.getValue();
        if (count < 0) {
          throw new IllegalArgumentException("word " + e.getKey() + " has a negative count " + count);
        }
        byte[] bytes = e.getKey().getBytes(StandardCharsets.UTF_8);
        if (count == 0 || bytes.length < 2) {
          continue; // no pairs to contribute
        }
        int[] symbols = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
          symbols[i] = ByteAlphabet.orderOf(bytes[i] & 0xFF);
        }
        words.symbols[words.size] = symbols;
        words.counts[words.size++] = count;
      }
      return words;
    }
  }

  /** Pair counts, pair → words index, and the heap of candidate merges. */
  private static final class PairStats {
    private final Map<Long, Long> counts = new HashMap<>();
    private final Map<Long, IntList> where = new HashMap<>();
    /** Count changes gathered during one merge, applied together so each changed pair is pushed once. */
    private final Map<Long, Long> delta = new HashMap<>();
    /** {count, pair}: highest count first, then smallest pair key = smallest (left id, right id). */
    private final PriorityQueue<long[]> heap = new PriorityQueue<>((x, y) ->
        x[0] != y[0] ? Long.compare(y[0], x[0]) : Long.compare(x[1], y[1]));
    private int[] seen = new int[0];

    /** Adds a word's pairs to the pending deltas and indexes the word under them (if onlyId ≥ 0: pairs with it). */
    void addWord(int[] symbols, long count, int word, int onlyId) {
      for (int i = 0; i + 1 < symbols.length; i++) {
        long pair = key(symbols[i], symbols[i + 1]);
        delta.merge(pair, count, Long::sum);
        if (onlyId < 0 || symbols[i] == onlyId || symbols[i + 1] == onlyId) {
          where.computeIfAbsent(pair, p -> new IntList()).add(word);
        }
      }
    }

    void removeWord(int[] symbols, long count) {
      for (int i = 0; i + 1 < symbols.length; i++) {
        delta.merge(key(symbols[i], symbols[i + 1]), -count, Long::sum);
      }
    }

    /** Applies the pending deltas and pushes each changed pair with its new count. */
    void flush() {
      for (Map.Entry<Long, Long> e : delta.entrySet()) {
        if (e.getValue() == 0) {
          continue;
        }
        long pair = e.getKey();
        long count = counts.getOrDefault(pair, 0L) + e.getValue();
        if (count > 0) {
          counts.put(pair, count);
          heap.add(new long[] {count, pair});
        } else {
          counts.remove(pair);
          where.remove(pair); // once both tokens exist, a pair that vanished never comes back
        }
      }
      delta.clear();
    }

    /** The most frequent pair (ties: smallest key), or -1 when none is left. Stale heap entries are skipped. */
    long pollBest() {
      long[] top;
      while ((top = heap.poll()) != null) {
        Long current = counts.get(top[1]);
        if (current != null && current == top[0]) {
          return top[1];
        }
      }
      return -1;
    }

    /** Replaces every occurrence of {@code pair} by {@code id} in the words that hold it, updating the counts. */
    void merge(long pair, int id, Words words) {
      int a = (int) (pair >>> 32);
      int b = (int) pair;
      if (seen.length < words.size) {
        seen = new int[words.size];
        Arrays.fill(seen, -1);
      }
      IntList list = where.remove(pair);
      for (int i = 0; list != null && i < list.size; i++) {
        int w = list.values[i];
        if (seen[w] == id) {
          continue; // indexed twice (the pair occurs twice in the word)
        }
        seen[w] = id;
        int[] before = words.symbols[w];
        int[] after = replace(before, a, b, id);
        if (after != null) {
          removeWord(before, words.counts[w]);
          addWord(after, words.counts[w], w, id);
          words.symbols[w] = after;
        }
      }
      flush();
    }

    /** {@code symbols} with each non-overlapping (a, b), scanned left to right, replaced by id; null if none. */
    private static int[] replace(int[] symbols, int a, int b, int id) {
      int[] out = null;
      int n = 0;
      for (int i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] == a && symbols[i + 1] == b) {
          if (out == null) {
            out = Arrays.copyOf(symbols, symbols.length);
            n = i;
          }
          out[n++] = id;
          i++;
        } else if (out != null) {
          out[n++] = symbols[i];
        }
      }
      return out == null ? null : Arrays.copyOf(out, n);
    }
  }

  /** A growable int list (word indices), without boxing. */
  private static final class IntList {
    int[] values = new int[4];
    int size;

    void add(int v) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = v;
    }
  }
}
