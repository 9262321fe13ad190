package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.io.CheckpointStore;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/** Inputs, shards, checkpoints and metrics on a real HDFS (MiniDFSCluster): hdfs:// paths take the same code path. */
class HdfsPipelineTest extends SparkTestBase {
  private static MiniDFSCluster hdfs;
  private static String root;

  @BeforeAll
  static void startHdfs(@TempDir Path base) throws Exception {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
    // the datanodes need Hadoop's checksummed LocalFileSystem, while the shared Spark session (and the cached
    // file: FileSystem) may already use the raw one
    conf.set("fs.file.impl", org.apache.hadoop.fs.LocalFileSystem.class.getName());
    conf.setBoolean("fs.file.impl.disable.cache", true);
    hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    hdfs.waitActive();
    root = "hdfs://localhost:" + hdfs.getNameNodePort();
  }

  @AfterAll
  static void stopHdfs() {
    if (hdfs != null) {
      hdfs.shutdown();
    }
  }

  @Test
  void tokenizeWritesAndReadsShardsOnHdfs() throws Exception {
    FileSystem fs = hdfs.getFileSystem();
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path("src/main/resources/data/corpora/the-verdict.txt"),
        new org.apache.hadoop.fs.Path("/corpus/verdict.txt"));
    TokenizeConfig c = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        List.of("seq_len=64", "split=tokens"),
        Map.of("input", List.of(root + "/corpus/verdict.txt"), "output", root + "/shards/verdict"), null);
    Manifest m = TokenizeJob.run(spark, c, new PrintStream(OutputStream.nullOutputStream()));
    int expected = Tokenizers.load("gpt2").encode(Files.readString(Path.of("src/main/resources/data/corpora/"
        + "the-verdict.txt"))).length + 1;
    assertEquals(expected, m.totalTokens());
    assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/shards/verdict/_SUCCESS")));
    ShardReader reader = ShardReader.open(root + "/shards/verdict", hdfs.getConfiguration(0));
    assertEquals(m.splits().get("train").rows(), reader.readRows("train", -1).size());

    CheckpointStore store = new CheckpointStore(root + "/runs/a", hdfs.getConfiguration(0), 1);
    store.save(3, Map.of("w", Nd4j.ones(2, 2)), Map.of(), Map.of("tokens_seen", 7));
    store.save(4, Map.of("w", Nd4j.ones(2, 2).mul(2)), Map.of(), Map.of("tokens_seen", 9));
    CheckpointStore.Loaded latest = store.loadLatest().orElseThrow();
    assertEquals(4, latest.step());
    assertEquals(Nd4j.ones(2, 2).mul(2), latest.weights().get("w"));
    assertEquals(List.of(4L), store.steps());
  }
}
