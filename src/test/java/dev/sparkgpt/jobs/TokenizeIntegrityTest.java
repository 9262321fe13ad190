package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.cli.Main;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardFiles;
import dev.sparkgpt.data.ShardFormatException;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.io.HadoopConf;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shards survive killed tasks unchanged, and a changed byte is caught by the manifest's checksums. */
class TokenizeIntegrityTest extends SparkTestBase {
  private static final Path SHAKESPEARE = TokenizeSplitsTest.SHAKESPEARE;

  private static Manifest tokenize(Path out) {
    return TokenizeJob.run(spark, TokenizeSplitsTest.config(out, List.of(SHAKESPEARE.toString()), "seq_len=16",
        "split=tokens", "num_shards=6"), TokenizeSplitsTest.QUIET);
  }

  /** Kills the first attempt of every write task as soon as it starts; Spark runs each again. */
  private static final class KillWrites extends SparkListener {
    final Set<Integer> writeStages = ConcurrentHashMap.newKeySet();
    final Set<Integer> killedPartitions = ConcurrentHashMap.newKeySet();
    final AtomicInteger killed = new AtomicInteger();

    @Override
    public void onJobStart(SparkListenerJobStart job) {
      String description = job.properties().getProperty("spark.job.description");
      if (ShardFiles.WRITE_JOB.equals(description)) {
        job.stageIds().foreach(id -> writeStages.add((Integer) id));
      }
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart task) {
      if (writeStages.contains(task.stageId()) && killedPartitions.add(task.taskInfo().index())) {
        spark.sparkContext().killTaskAttempt(task.taskInfo().taskId(), true, "test: kill during write");
      }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd task) {
      if (writeStages.contains(task.stageId()) && task.reason().toString().contains("TaskKilled")) {
        killed.incrementAndGet();
      }
    }
  }

  @Test
  void killedWriteTasksAreRetriedIntoIdenticalShardsAndCounts(@TempDir Path dir) throws IOException {
    Manifest clean = tokenize(dir.resolve("clean"));
    KillWrites killer = new KillWrites();
    spark.sparkContext().addSparkListener(killer);
    Manifest retried;
    try {
      retried = tokenize(dir.resolve("killed"));
    } finally {
      spark.sparkContext().removeSparkListener(killer);
    }
    assertTrue(killer.killed.get() >= 1, "write tasks were killed: " + killer.killed.get());
    assertEquals(clean.splits(), retried.splits(), "same files, rows, bytes, SHA-256 and counts");
    assertEquals(clean.totalTokens(), retried.totalTokens());
    assertEquals(clean.documentsRead(), retried.documentsRead());
    try (Stream<Path> files = Files.walk(dir.resolve("killed"))) {
      assertEquals(List.of(), files.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList(),
          "no attempt's temporary file left");
    }
  }

  @Test
  void aChangedPageIsFlaggedByItsChecksumOnReadAndByShardsVerify(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("out");
    Manifest m = tokenize(out);
    Manifest.ShardFile shard = m.splits().get("train").shards().get(1);
    assertEquals(64, shard.sha256().length());
    assertEquals(0, verify(out).exitCode, "a fresh output verifies");
    var frame = spark.read().parquet(out.resolve("train").toString());
    // Spark reads every file column as nullable; names and types are what it would write
    assertEquals(dev.sparkgpt.data.ShardSchema.SCHEMA.simpleString(), frame.schema().simpleString());
    assertEquals(m.splits().get("train").rows(), frame.count());

    Path file = out.resolve(shard.path());
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 0x01; // one bit inside a data page; the file stays readable Parquet
    Files.write(file, bytes);
    ShardReader reader = ShardReader.open(out.toString(), HadoopConf.create());
    ShardFormatException e = assertThrows(ShardFormatException.class, () -> reader.readRows("train", -1));
    assertTrue(e.getMessage().contains(file.getFileName().toString()) && e.getMessage().contains("SHA-256"),
        e.getMessage());
    Verified v = verify(out);
    assertEquals(1, v.exitCode);
    assertTrue(v.output.contains("BAD  ") && v.output.contains(file.getFileName().toString())
        && v.output.contains("1 bad"), v.output);
  }

  private record Verified(int exitCode, String output) {}

  private static Verified verify(Path out) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      int code = Main.commandLine().execute("shards", "verify", out.toString());
      return new Verified(code, buf.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(old);
    }
  }
}
