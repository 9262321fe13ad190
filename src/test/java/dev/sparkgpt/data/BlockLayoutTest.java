package dev.sparkgpt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A block's local summary (no pass over the data) equals the summary the pass computes from global decisions. */
class BlockLayoutTest extends SparkTestBase {
  private static final int SEQ_LEN = 16;
  private static final long SEED = 1337;
  private static final double VAL = 0.3;

  /** Two files (.txt with separators, .jsonl) of 80 documents each, every 7th a copy of an earlier one. */
  private static List<SourceFile> corpus(Path dir, Configuration conf) throws Exception {
    Random random = new Random(11);
    StringBuilder txt = new StringBuilder();
    StringBuilder jsonl = new StringBuilder();
    List<String> docs = new ArrayList<>();
    for (int i = 0; i < 80; i++) {
      int words = i % 13 == 5 ? 20_000 : 1 + random.nextInt(60); // a few documents span several splits
      StringBuilder d = new StringBuilder();
      for (int w = 0; w < words; w++) {
        d.append(w % 20 == 19 ? "\n" : " ").append("word").append(random.nextInt(500));
      }
      docs.add(i % 7 == 6 ? docs.get(random.nextInt(i)) : d.toString());
      txt.append(i == 0 ? "" : "\n<SEP>\n").append(docs.get(i));
      jsonl.append("{\"text\": \"").append(docs.get(i).replace("\n", "\\n")).append("\"}\n");
    }
    Files.writeString(dir.resolve("a.txt"), txt);
    Files.writeString(dir.resolve("b.jsonl"), jsonl);
    return InputFiles.list(List.of(dir.toString()), "auto", conf);
  }

  private List<EncodedBlock> encode(List<SourceFile> files, boolean tokensMode, Configuration conf) {
    TokenBlocks.Settings settings = new TokenBlocks.Settings(new SplitReader.Options("text", "<SEP>", true, 1024,
        10_000_000), 1, true, SEED, VAL, !tokensMode);
    List<EncodedBlock> blocks = new ArrayList<>(TokenBlocks.encode(spark, files, 16_384, settings,
        TokenizerSpec.resolve("gpt2", conf), spark.sparkContext().longAccumulator()).collect());
    blocks.sort(Comparator.comparingInt(EncodedBlock::order));
    return blocks;
  }

  /** Duplicates found on the driver from the heads equal those the hash shuffle finds. */
  @Test
  void driverDeduplicationEqualsTheShuffle(@TempDir Path dir) throws Exception {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    List<SourceFile> files = corpus(dir, conf);
    TokenBlocks.Settings settings = new TokenBlocks.Settings(new SplitReader.Options("text", "<SEP>", true, 1024,
        10_000_000), 1, true, SEED, VAL, true);
    org.apache.spark.api.java.JavaRDD<EncodedBlock> rdd = TokenBlocks.encode(spark, files, 16_384, settings,
        TokenizerSpec.resolve("gpt2", conf), spark.sparkContext().longAccumulator()).cache();
    List<EncodedBlock.Head> withHashes = rdd.map(new BlockLayout.HeadOf(false, SEQ_LEN, SEED, VAL, 1000)).collect();
    List<EncodedBlock.Head> without = rdd.map(new BlockLayout.HeadOf(false, SEQ_LEN, SEED, VAL, 0)).collect();
    assertTrue(withHashes.stream().allMatch(h -> h.dedup() != null));
    assertTrue(without.stream().allMatch(h -> h.dedup() == null));
    Set<Long> shuffled = DocumentSources.duplicates(rdd, without, 2);
    Set<Long> onDriver = DocumentSources.duplicates(rdd, withHashes, 2);
    assertEquals(shuffled, onDriver);
    // the .txt's 11 copies, and every .jsonl entry but the 6 long originals: in the .txt they span splits and take
    // part with their first part's hash (documented), in the .jsonl whole
    assertEquals(11 + 80 - 6, onDriver.size());
    rdd.unpersist();
  }

  @Test
  void localSummariesEqualThePassesWhereverTheyExist(@TempDir Path dir) throws Exception {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    List<SourceFile> files = corpus(dir, conf);
    for (boolean tokensMode : new boolean[] {false, true}) {
      List<EncodedBlock> blocks = encode(files, tokensMode, conf);
      BlockLayout.HeadOf headOf = new BlockLayout.HeadOf(tokensMode, SEQ_LEN, SEED, VAL, 0);
      List<EncodedBlock.Head> heads = new ArrayList<>();
      for (EncodedBlock b : blocks) {
        heads.add(headOf.call(b));
      }
      BlockLayout.Decisions global = BlockLayout.decide(heads, Set.of(), !tokensMode, SEED, VAL);
      int local = 0;
      int continuing = 0;
      for (EncodedBlock b : blocks) {
        BlockLayout.Summary own = heads.get(b.order()).local();
        if (b.firstContinues && !tokensMode) {
          continuing++;
          assertNull(own, "block " + b.order() + " continues a document: its split is decided elsewhere");
          continue;
        }
        assertNotNull(own, "block " + b.order());
        local++;
        BlockLayout.Summary pass = BlockLayout.summarize(b, global, tokensMode, SEQ_LEN);
        assertEquals(pass.order(), own.order());
        assertEquals(pass.counts(), own.counts());
        assertArrayEquals(pass.tokens(), own.tokens(), "tokens of block " + b.order());
        for (int s = 0; s < pass.heads().length; s++) {
          assertArrayEquals(pass.heads()[s], own.heads()[s], "head " + s + " of block " + b.order());
        }
      }
      assertTrue(blocks.size() > 20, "blocks: " + blocks.size());
      assertTrue(local > 10, "local summaries: " + local);
      assertTrue(tokensMode || continuing > 2, "blocks continuing a document: " + continuing);
    }
  }
}
