package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.train.TrainingLoop;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * s3a:// end to end against a real S3 API server: S3Proxy (a Java implementation of the S3 REST API over a
 * directory) in a JVM of its own, and Hadoop's S3A connector (hadoop-aws 3.3.4, what the docs tell users to add) on
 * our side, configured only through {@code spark.hadoop.fs.s3a.*} settings as spark-submit's {@code --conf} gives
 * them. Tokenize from and to a bucket, pretrain from the bucket's shards with checkpoints and metrics in the bucket,
 * stop and resume, then eval the bucket's checkpoint through the CLI: the losses equal the same run on local files.
 */
class S3StoragePipelineTest extends SparkTestBase {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final String BUCKET = "sparkgpt";
  private static final Map<String, String> S3A = new LinkedHashMap<>();
  private static Process s3proxy;

  @BeforeAll
  static void startS3(@TempDir Path base) throws Exception {
    Path jar = Path.of("target/s3proxy/s3proxy.jar");
    Files.createDirectories(base.resolve("blobs").resolve(BUCKET)); // a bucket is a directory of the backend
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path conf = base.resolve("s3proxy.conf");
    Files.writeString(conf, String.join("\n", "s3proxy.endpoint=http://127.0.0.1:" + port,
        "s3proxy.authorization=aws-v2-or-v4", "s3proxy.identity=test-access", "s3proxy.credential=test-secret",
        "jclouds.provider=filesystem", "jclouds.filesystem.basedir=" + base.resolve("blobs"), ""));
    s3proxy = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        jar.toString(), "--properties", conf.toString()).redirectErrorStream(true)
        .redirectOutput(base.resolve("s3proxy.log").toFile()).start();
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (true) {
      try (Socket ignored = new Socket("127.0.0.1", port)) {
        break;
      } catch (java.io.IOException notYet) {
        assertTrue(s3proxy.isAlive(), () -> "S3Proxy exited: " + read(base.resolve("s3proxy.log")));
        assertTrue(System.nanoTime() < deadline, "S3Proxy did not listen within 60 s");
        Thread.sleep(200);
      }
    }
    S3A.put("fs.s3a.endpoint", "http://127.0.0.1:" + port);
    S3A.put("fs.s3a.endpoint.region", "us-east-1");
    S3A.put("fs.s3a.path.style.access", "true");
    S3A.put("fs.s3a.connection.ssl.enabled", "false");
    S3A.put("fs.s3a.access.key", "test-access");
    S3A.put("fs.s3a.secret.key", "test-secret");
    S3A.put("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    S3A.put("fs.s3a.change.detection.mode", "none"); // the filesystem backend's ETags are not stable across copies
    S3A.put("fs.s3a.impl.disable.cache", "true");
    // S3Proxy answers multi-object deletes slowly (~20 s each): keep directory markers (no delete after each
    // write, Hadoop's advice for speed anyway) and delete objects one by one
    S3A.put("fs.s3a.directory.marker.retention", "keep");
    S3A.put("fs.s3a.multiobjectdelete.enable", "false");
    for (Map.Entry<String, String> e : S3A.entrySet()) {
      System.setProperty("spark.hadoop." + e.getKey(), e.getValue()); // what spark-submit --conf does for a driver
      spark.sparkContext().hadoopConfiguration().set(e.getKey(), e.getValue()); // the session already running
    }
  }

  @AfterAll
  static void stopS3() {
    for (String key : S3A.keySet()) {
      System.clearProperty("spark.hadoop." + key);
      spark.sparkContext().hadoopConfiguration().unset(key);
    }
    if (s3proxy != null) {
      s3proxy.destroyForcibly();
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (java.io.IOException e) {
      return e.toString();
    }
  }

  @Test
  void tokenizePretrainResumeAndEvalWithEverythingInABucket(@TempDir Path dir) throws Exception {
    String root = "s3a://" + BUCKET;
    Configuration conf = HadoopConf.create(); // carries the s3a settings from the spark.hadoop.* properties
    FileSystem s3 = new org.apache.hadoop.fs.Path(root + "/").getFileSystem(conf);
    try (OutputStream out = s3.create(new org.apache.hadoop.fs.Path(root + "/in/verdict.txt"))) {
      out.write(Files.readAllBytes(Path.of("src/main/resources/data/corpora/the-verdict.txt")));
    }

    List<String> tokenize = List.of("seq_len=32", "split=tokens", "val_fraction=0.1");
    Manifest inBucket = TokenizeJob.run(spark, ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        tokenize, Map.of("input", List.of(root + "/in/verdict.txt"), "output", root + "/shards/v32"), null), QUIET);
    Manifest local = TokenizeJob.run(spark, ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        tokenize, Map.of("input", List.of("src/main/resources/data/corpora/the-verdict.txt"), "output",
            dir.resolve("shards").toString()), null), QUIET);
    assertEquals(local.totalTokens(), inBucket.totalTokens());
    assertTrue(s3.exists(new org.apache.hadoop.fs.Path(root + "/shards/v32/" + Manifest.FILE)));

    String[] data = {"data.text=null", "data.shards=" + root + "/shards/v32", "model.drop_rate=0"};
    String[] stopped = java.util.Arrays.copyOf(data, data.length + 1);
    stopped[data.length] = "train.max_steps=10";
    assertEquals(10, PretrainJob.run(spark, PretrainJobTest.tiny(root + "/runs/a", stopped), QUIET).step());
    TrainingLoop.Result resumed = PretrainJob.run(spark, PretrainJobTest.tiny(root + "/runs/a", data), QUIET);
    assertEquals(20, resumed.step());
    String[] onDisk = {"data.text=null", "data.shards=" + dir.resolve("shards"), "model.drop_rate=0"};
    TrainingLoop.Result straight = PretrainJob.run(spark, PretrainJobTest.tiny(dir.resolve("run").toString(), onDisk),
        QUIET);
    assertEquals(straight.trainLoss(), resumed.trainLoss(), 0.0, "same data from the bucket, same losses");
    assertEquals(straight.valLoss(), resumed.valLoss(), 0.0);
    assertEquals(List.of(10L, 20L), new CheckpointStore(root + "/runs/a", conf, 3).steps());
    assertEquals(losses(new org.apache.hadoop.fs.Path(dir.resolve("run/metrics.jsonl").toUri()), conf),
        losses(new org.apache.hadoop.fs.Path(root + "/runs/a/metrics.jsonl"), conf), "every step once, same losses");

    // a CLI verb outside Spark reads the bucket's checkpoint and writes its report into the bucket
    int code = dev.sparkgpt.cli.Main.commandLine().execute("eval", "--checkpoint", root + "/runs/a", "--tasks",
        "src/main/resources/data/eval/copa.jsonl", "--limit", "8", "--out", root + "/runs/a/eval/report.json",
        "--local");
    assertEquals(0, code);
    try (InputStream in = s3.open(new org.apache.hadoop.fs.Path(root + "/runs/a/eval/report.json"))) {
      JsonNode report = JsonFiles.MAPPER.readTree(in);
      assertEquals(8, report.at("/tasks/copa/n").asInt());
    }
  }

  private static List<Double> losses(org.apache.hadoop.fs.Path metrics, Configuration conf) throws Exception {
    List<Double> out = new ArrayList<>();
    try (InputStream in = metrics.getFileSystem(conf).open(metrics)) {
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        JsonNode n = JsonFiles.MAPPER.readTree(line);
        if (n.has("step") && n.has("train_loss")) {
          out.add(n.get("train_loss").asDouble());
        }
      }
    }
    return out;
  }
}
