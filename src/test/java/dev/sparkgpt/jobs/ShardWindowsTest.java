package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardFormatException;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.data.ShardWindows;
import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.io.HadoopConf;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardWindowsTest extends SparkTestBase {
  private static final String VERDICT = "src/main/resources/data/corpora/the-verdict.txt";

  private static ShardReader tokenize(Path out, String... overrides) {
    TokenizeJob.run(spark, TokenizeSplitsTest.config(out, List.of(VERDICT), overrides), TokenizeSplitsTest.QUIET);
    return ShardReader.open(out.toString(), HadoopConf.create());
  }

  @Test
  void blocksPlannedFromTheManifestAloneHoldTheWindowsOfTheWholeSplitInOrder(@TempDir Path dir) {
    Configuration conf = HadoopConf.create();
    ShardReader reader = tokenize(dir.resolve("shards"), "seq_len=32", "num_shards=3", "split=tokens");
    Manifest m = reader.manifest();
    assertTrue(m.splits().get("train").shards().size() >= 2, "several shards: " + m.splits().get("train"));
    for (int context : new int[] {32, 12, 7}) {
      TrainingWindows all = TrainingWindows.fromRows(reader.readRows("train", -1), context);
      ShardWindows plan = ShardWindows.plan(reader, "train", context, 5, conf);
      assertEquals(all.size(), plan.windows(), "context " + context);
      int at = 0;
      for (int b = 0; b < plan.blocks(); b++) {
        TrainingWindows block = plan.read(b);
        assertEquals(plan.windows(b), block.size());
        int[] here = IntStream.range(0, block.size()).toArray();
        int[] there = IntStream.range(at, at + block.size()).toArray();
        assertArrayEquals(all.inputs(there), block.inputs(here), "block " + b);
        assertArrayEquals(all.targets(there), block.targets(here), "block " + b);
        at += block.size();
      }
      assertEquals(all.size(), at);
    }
  }

  @Test
  void aDamagedShardIsNamedWithItsRowGroupWhenItsBlockIsRead(@TempDir Path dir) throws Exception {
    Configuration conf = HadoopConf.create();
    Path out = dir.resolve("shards");
    ShardReader reader = tokenize(out, "seq_len=32", "split=tokens");
    ShardWindows plan = ShardWindows.plan(reader, "train", 32, 1000, conf);
    Manifest.ShardFile first = reader.manifest().splits().get("train").shards().get(0);
    Path file = out.resolve(first.path());
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(f.length() / 2);
      f.write(new byte[64]); // inside the column data: a checksum and a decode failure
    }
    ShardFormatException e = assertThrows(ShardFormatException.class, () -> plan.read(0));
    assertTrue(e.getMessage().contains(first.path()) && e.getMessage().contains("Fix:"), e.getMessage());
    Files.delete(file);
    e = assertThrows(ShardFormatException.class, () -> plan.read(0));
    assertTrue(e.getMessage().contains("listed in manifest.json but missing"), e.getMessage());
  }
}
