package dev.sparkgpt.jobs;

import dev.sparkgpt.checkpoint.CheckpointState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparkgpt.SparkGptException;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.io.OutputDir;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.junit.jupiter.api.io.TempDir;

/**
 * A read-only output directory and a full disk (shards, checkpoints): one clear error, and nothing left that looks
 * complete.
 */
class OutputFailureTest extends SparkTestBase {
  /** The local file system under the scheme full:, where every file stops taking bytes after the first 64. */
  public static final class FullFileSystem extends RawLocalFileSystem {
    @Override
    public URI getUri() {
      return URI.create("full:///");
    }

    @Override
    public String getScheme() {
      return "full";
    }

    @Override
    public FSDataOutputStream create(org.apache.hadoop.fs.Path f, boolean overwrite, int bufferSize, short replication,
        long blockSize, Progressable progress) throws IOException {
      return full(super.create(f, overwrite, bufferSize, replication, blockSize, progress));
    }

    @Override
    public FSDataOutputStream create(org.apache.hadoop.fs.Path f, FsPermission permission, boolean overwrite,
        int bufferSize, short replication, long blockSize, Progressable progress) throws IOException {
      return full(super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress));
    }

    private static FSDataOutputStream full(OutputStream real) throws IOException {
      return new FSDataOutputStream(new OutputStream() {
        long written;

        @Override
        public void write(int b) throws IOException {
          if (++written > 64) {
            throw new IOException("No space left on device");
          }
          real.write(b);
        }

        @Override
        public void close() throws IOException {
          real.close();
        }
      }, null);
    }
  }

  private static List<Path> successMarkers(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(p -> p.getFileName().toString().equals(OutputDir.SUCCESS)).toList();
    }
  }

  @Test
  void aFullDiskFailsTheWriteByNameAndLeavesNoOutput(@TempDir Path dir) throws IOException {
    Configuration conf = new Configuration();
    conf.set("fs.full.impl", FullFileSystem.class.getName());
    conf.setBoolean("fs.full.impl.disable.cache", true);
    OutputDir out = OutputDir.create("full://" + dir.resolve("shards"), "manifest.json", conf);
    SparkGptException e = assertThrows(SparkGptException.class,
        () -> out.writeText("manifest.json", "{\"format\": \"" + "x".repeat(200) + "\"}"));
    assertTrue(e.getMessage().contains("manifest.json") && e.getMessage().contains("No space left on device")
        && e.getMessage().contains("free space"), e.getMessage());
    out.abort();
    assertFalse(Files.exists(dir.resolve("shards")));
    assertEquals(List.of(), successMarkers(dir));
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(List.of(), left.toList(), "the staging directory is gone too");
    }
  }

  @Test
  void aCheckpointOnAFullDiskFailsByNameAndResumeStillFindsThePreviousOne(@TempDir Path dir) throws IOException {
    Configuration conf = new Configuration();
    conf.set("fs.full.impl", FullFileSystem.class.getName());
    conf.setBoolean("fs.full.impl.disable.cache", true);
    Map<String, INDArray> weights = Map.of("wte.weight", Nd4j.createFromArray(new float[][] {{1, 2}, {3, 4}}));
    Map<String, INDArray> moments = Map.of("wte.weight.m", Nd4j.createFromArray(new float[][] {{0, 1}, {1, 0}}));
    new CheckpointStore(dir.toString(), conf, 3).save(1, weights, moments, Map.of("tokens_seen", 64));

    CheckpointException e = assertThrows(CheckpointException.class, () -> new CheckpointStore("full://" + dir,
        conf, 3).save(2, weights, moments, Map.of("tokens_seen", 128)));
    assertTrue(e.getMessage().contains(CheckpointStore.dirName(2) + ": cannot write checkpoint")
        && e.getMessage().contains("/" + CheckpointStore.WEIGHTS) && e.getMessage().contains("No space left on device")
        && e.getMessage().contains("Fix: check free space"), e.getMessage());

    CheckpointStore store = new CheckpointStore(dir.toString(), conf, 3);
    assertEquals(List.of(1L), store.steps(), "no half checkpoint of step 2");
    CheckpointState resumed = store.loadLatest().orElseThrow();
    assertEquals(1, resumed.step());
    assertEquals(64, resumed.state().get("tokens_seen").asInt());
    assertEquals(weights.get("wte.weight"), resumed.weights().get("wte.weight"));
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(List.of(CheckpointStore.LATEST, CheckpointStore.dirName(1)),
          left.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".crc")).sorted().toList(),
          "the staging directory is gone (Hadoop's .crc checksums aside)");
    }
  }

  @Test
  void aReadOnlyOutputDirectoryIsRefusedByNameBeforeAnyWork(@TempDir Path dir) throws IOException {
    Path marker = Files.createFile(dir.resolve("owner"));
    assumeTrue(((Integer) Files.getAttribute(marker, "unix:uid")) != 0, "root ignores permissions");
    Path readOnly = Files.createDirectory(dir.resolve("readonly"));
    Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
    try {
      TokenizeConfig config = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(),
          Path.of("conf/tokenize/the-verdict.yaml"), List.of(),
          Map.of("output", readOnly.resolve("shards").toString()), null);
      SparkGptException e = assertThrows(SparkGptException.class,
          () -> TokenizeJob.run(spark, config, new PrintStream(new ByteArrayOutputStream())));
      assertTrue(e.getMessage().contains(readOnly.toString()) && e.getMessage().contains("permissions"),
          e.getMessage());
      try (Stream<Path> left = Files.list(readOnly)) {
        assertEquals(List.of(), left.toList());
      }
    } finally {
      Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }
}
