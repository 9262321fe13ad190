package dev.sparkgpt.bench;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import dev.sparkgpt.tokenizer.TextSplitter;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * GPT-2 encoding throughput: our Tokenizer vs raw JTokkit r50k_base encodeOrdinary on 1 thread (same JVM, same
 * text, alternating runs), then 2 threads on TextSplitter pieces, with ids checked identical to the unsplit run.
 * Usage: bench/run TokenizerBench [corpus.txt] [repeats]
 */
public final class TokenizerBench {
  public static void main(String[] args) throws Exception {
    Path corpus = Path.of(args.length > 0 ? args[0] : "/work/shared/data/corpora/sotu-1790-2021.txt");
    if (!Files.exists(corpus)) {
      corpus = Path.of("src/main/resources/data/corpora/tinyshakespeare.txt");
    }
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    String text = Files.readString(corpus);
    double mb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
    System.out.printf("corpus %s: %.2f MB, %,d chars, %d cores, java %s%n", corpus, mb, text.length(),
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));

    // Raw first: it pays the JVM's class loading, so ours shows only what it adds (token table, hash).
    long t0 = System.nanoTime();
    Encoding raw = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    double rawLoad = seconds(t0);
    t0 = System.nanoTime();
    Tokenizer ours = Tokenizers.gpt2();
    System.out.printf("load: raw JTokkit r50k_base %.2f s (cold JVM), ours %.2f s (r50k_base again + token table +"
        + " hash)%n", rawLoad, seconds(t0));

    // 1 thread. Warm up by time, not by a pass count: one long encode call runs in on-stack-replacement code for
    // many passes (on tinyshakespeare the first passes ran at 5 MB/s, fully compiled 17 MB/s). Then alternate, so
    // drift on a shared machine hits both alike.
    int[] expected = raw.encodeOrdinary(text).toArray();
    int[] got = ours.encode(text);
    check(Arrays.equals(expected, got), "ours and raw JTokkit disagree on the unsplit text");
    warmUp(() -> raw.encodeOrdinary(text).size());
    warmUp(() -> ours.encode(text).length);
    double bestRaw = Double.MAX_VALUE;
    double bestOurs = Double.MAX_VALUE;
    for (int r = 0; r < repeats; r++) {
      bestRaw = Math.min(bestRaw, time(() -> raw.encodeOrdinary(text).size()));
      bestOurs = Math.min(bestOurs, time(() -> ours.encode(text).length));
    }
    System.out.printf("1 thread, raw JTokkit encodeOrdinary: %.3f s best of %d = %.1f MB/s (%,d tokens)%n", bestRaw,
        repeats, mb / bestRaw, expected.length);
    System.out.printf("1 thread, our Tokenizer.encode:       %.3f s best of %d = %.1f MB/s%n", bestOurs, repeats,
        mb / bestOurs);
    System.out.printf("RATIO ours / raw JTokkit = %.2f%n", bestRaw / bestOurs);

    // 2 threads on TextSplitter pieces (64 pieces, at least 64K chars each, as a Spark job would see them).
    int target = Math.max(1 << 16, text.length() / 64);
    t0 = System.nanoTime();
    List<String> pieces = TextSplitter.split(text, target);
    System.out.printf("TextSplitter: %d pieces of ≤ %,d chars in %.3f s%n", pieces.size(), target, seconds(t0));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      int[] split = encodeParallel(pool, pieces, ours);
      check(Arrays.equals(expected, split), "pieces encoded apart differ from the unsplit text");
      double best2 = Double.MAX_VALUE;
      warmUp(() -> encodeParallel(pool, pieces, ours).length);
      for (int r = 0; r < repeats; r++) {
        best2 = Math.min(best2, time(() -> encodeParallel(pool, pieces, ours).length));
      }
      System.out.printf("2 threads, our Tokenizer on pieces:   %.3f s best of %d = %.1f MB/s, ids identical to"
          + " unsplit: yes%n", best2, repeats, mb / best2);
      System.out.printf("SPEEDUP 2 threads / 1 thread = %.2f%n", bestOurs / best2);
    } finally {
      pool.shutdown();
    }
  }

  private static int[] encodeParallel(ExecutorService pool, List<String> pieces, Tokenizer tok) {
    List<Future<int[]>> parts = new ArrayList<>(pieces.size());
    for (String piece : pieces) {
      parts.add(pool.submit(() -> tok.encode(piece)));
    }
    try {
      List<int[]> done = new ArrayList<>(parts.size());
      int total = 0;
      for (Future<int[]> f : parts) {
        done.add(f.get());
        total += done.get(done.size() - 1).length;
      }
      int[] all = new int[total];
      int at = 0;
      for (int[] ids : done) {
        System.arraycopy(ids, 0, all, at, ids.length);
        at += ids.length;
      }
      return all;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs {@code work} for at least 3 s and 3 passes. */
  private static void warmUp(Supplier<Integer> work) {
    long t0 = System.nanoTime();
    for (int pass = 0; pass < 3 || seconds(t0) < 3; pass++) {
      time(work);
    }
  }

  private static double time(Supplier<Integer> work) {
    long t0 = System.nanoTime();
    int n = work.get();
    double s = seconds(t0);
    if (n < 0) {
      throw new IllegalStateException(); // keeps the result live
    }
    return s;
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      System.out.println("MISMATCH: " + what);
      System.exit(1);
    }
  }
}
