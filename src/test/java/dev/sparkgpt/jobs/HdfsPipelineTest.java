package dev.sparkgpt.jobs;

import dev.sparkgpt.checkpoint.CheckpointState;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.tokenizer.Tokenizers;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.train.TrainingLoop;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Inputs, shards, checkpoints and metrics on a real HDFS (MiniDFSCluster): hdfs:// paths take the same code path. */
class HdfsPipelineTest extends SparkTestBase {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
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
  void theAirflowProbeReadsARunOnHdfs() throws Exception {
    FileSystem fs = hdfs.getFileSystem();
    String run = root + "/probe/pretrain";
    fs.mkdirs(new org.apache.hadoop.fs.Path(run + "/eval"));
    try (var out = fs.create(new org.apache.hadoop.fs.Path(run + "/latest"))) {
      out.write("step-000045\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    fs.create(new org.apache.hadoop.fs.Path(run + "/eval/step-000010.json")).close();
    var state = RunProbe.probe(java.util.List.of(run + "/latest", run + "/eval", run + "/nothing"),
        hdfs.getConfiguration(0));
    assertEquals("{exists=true, text=step-000045\n}", state.get(run + "/latest").toString());
    assertEquals("{exists=true, children=[step-000010.json]}", state.get(run + "/eval").toString());
    assertEquals("{exists=false}", state.get(run + "/nothing").toString());
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
    CheckpointState latest = store.loadLatest().orElseThrow();
    assertEquals(4, latest.step());
    assertEquals(Nd4j.ones(2, 2).mul(2), latest.weights().get("w"));
    assertEquals(List.of(4L), store.steps());
  }

  /**
   * tokenize → pretrain (parameter averaging, 2 workers) stopped at step 10 → resumed to 20, every path on HDFS:
   * the resumed run equals a straight run bit for bit, and metrics, checkpoints and markers are on HDFS.
   */
  @Test
  void pretrainStopsAndResumesOnHdfsExactly() throws Exception {
    FileSystem fs = hdfs.getFileSystem();
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path("src/main/resources/data/corpora/the-verdict.txt"),
        new org.apache.hadoop.fs.Path("/in/verdict.txt"));
    TokenizeJob.run(spark, ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        List.of("seq_len=32", "split=tokens", "val_fraction=0.1"),
        Map.of("input", List.of(root + "/in/verdict.txt"), "output", root + "/shards/v32"), null), QUIET);
    String[] averaging = {"data.text=null", "data.shards=" + root + "/shards/v32", "model.drop_rate=0",
        "train.strategy=parameter_averaging", "train.workers=2", "train.averaging_frequency=2",
        "train.save_interval=10", "eval.interval=10", "train.tensorboard=true"};
    TrainingLoop.Result straight = PretrainJob.run(spark, hdfsRun("/runs/straight", averaging), QUIET);
    assertEquals(20, straight.step());
    String[] stopped = java.util.Arrays.copyOf(averaging, averaging.length + 1);
    stopped[averaging.length] = "train.max_steps=10";
    assertEquals(10, PretrainJob.run(spark, hdfsRun("/runs/resumed", stopped), QUIET).step());
    assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/runs/resumed/step-000010/state.json")));
    TrainingLoop.Result resumed = PretrainJob.run(spark, hdfsRun("/runs/resumed", averaging), QUIET);
    assertEquals(20, resumed.step());
    assertEquals(straight.trainLoss(), resumed.trainLoss(), 0.0);
    assertEquals(straight.valLoss(), resumed.valLoss(), 0.0);

    Configuration conf = hdfs.getConfiguration(0);
    CheckpointState a = new CheckpointStore(root + "/runs/straight", conf, 3).loadLatest().orElseThrow();
    CheckpointState b = new CheckpointStore(root + "/runs/resumed", conf, 3).loadLatest().orElseThrow();
    assertEquals(20, b.step());
    for (Map.Entry<String, INDArray> w : a.weights().entrySet()) {
      assertArrayEquals(w.getValue().ravel().toFloatVector(), b.weights().get(w.getKey()).ravel().toFloatVector(), 0f,
          w.getKey());
    }
    List<Long> straightSteps = loggedSteps(fs, "/runs/straight/metrics.jsonl");
    assertEquals(20L, straightSteps.get(straightSteps.size() - 1));
    assertEquals(straightSteps, loggedSteps(fs, "/runs/resumed/metrics.jsonl"),
        "the resumed run logs the straight run's steps: none lost or repeated across the resume");
    for (int i = 1; i < straightSteps.size(); i++) {
      assertTrue(straightSteps.get(i) > straightSteps.get(i - 1), "steps increase: " + straightSteps);
    }
    // TensorBoard event files on HDFS: one per run, the resumed one's second starting at step 11
    org.apache.hadoop.fs.FileStatus[] events = fs.listStatus(new org.apache.hadoop.fs.Path("/runs/resumed/tensorboard"));
    java.util.Arrays.sort(events);
    assertEquals(2, events.length);
    try (var in = fs.open(events[1].getPath())) {
      List<org.tensorflow.proto.Event> second = dev.sparkgpt.io.TensorBoardFiles.events(in);
      assertEquals(11, second.get(1).getStep());
      assertEquals(straightSteps.stream().filter(s -> s > 10).toList(),
          List.copyOf(dev.sparkgpt.io.TensorBoardFiles.scalars(second, "train_loss").keySet()));
    }
  }

  private static List<Long> loggedSteps(FileSystem fs, String file) throws Exception {
    List<Long> steps = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(new org.apache.hadoop.fs.Path(file)),
        StandardCharsets.UTF_8))) {
      for (String line : r.lines().toList()) {
        JsonNode n = JsonFiles.MAPPER.readTree(line);
        if (n.has("train_loss")) {
          steps.add(n.get("step").asLong());
        }
      }
    }
    return steps;
  }

  private static PretrainConfig hdfsRun(String dir, String... sets) {
    return PretrainJobTest.tiny(root + dir, sets);
  }
}
