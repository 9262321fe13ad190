package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.deploy.SparkSubmitArguments;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.collection.JavaConverters;

/**
 * jobs/common.sh as spark-submit receives it: the script runs with SPARK_SUBMIT set to a command that writes its
 * arguments to a file, and those arguments are parsed by Spark's own SparkSubmitArguments (what spark-submit would
 * refuse, this refuses), then checked for each kind of cluster.
 */
class SubmitScriptsTest {
  static final Path ROOT = Path.of("").toAbsolutePath();

  /** Runs sparkgpt_submit CLASS ARGS with {@code env}; returns {exit code, stderr, the arguments spark-submit got}. */
  static Object[] submit(Path tmp, Map<String, String> env, String... classAndArgs) throws Exception {
    Path recorder = tmp.resolve("spark-submit");
    Path recorded = tmp.resolve("args.txt");
    Files.writeString(recorder, "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > '" + recorded + "'\n");
    recorder.toFile().setExecutable(true);
    Files.deleteIfExists(recorded);
    List<String> command = new ArrayList<>(List.of("bash", "-c",
        "set -euo pipefail; source jobs/common.sh; sparkgpt_submit \"$@\"", "submit"));
    command.addAll(List.of(classAndArgs));
    ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile())
        .redirectError(tmp.resolve("err.txt").toFile()).redirectOutput(tmp.resolve("out.txt").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("SPARKGPT") || k.startsWith("S3A") || k.equals("MASTER")
        || k.equals("DEPLOY_MODE") || k.endsWith("MEMORY_GB") || k.equals("OPENBLAS_CORETYPE"));
    pb.environment().putAll(env);
    pb.environment().put("SPARK_SUBMIT", recorder.toString());
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "common.sh did not finish");
    List<String> args = Files.exists(recorded) ? Files.readAllLines(recorded) : List.of();
    return new Object[] {p.exitValue(), Files.readString(tmp.resolve("err.txt")), args};
  }

  /** The arguments as Spark's spark-submit parses them (it throws on what spark-submit would refuse). */
  static SparkSubmitArguments parsed(Object[] submitted) {
    return parsed(submitted, Map.of());
  }

  /** As {@link #parsed(Object[])}, with spark-submit's environment (YARN wants HADOOP_CONF_DIR). */
  @SuppressWarnings("unchecked")
  static SparkSubmitArguments parsed(Object[] submitted, Map<String, String> env) {
    assertEquals(0, submitted[0], (String) submitted[1]);
    List<String> args = (List<String>) submitted[2];
    scala.collection.immutable.Map<String, String> scalaEnv = scala.collection.immutable.Map$.MODULE$.empty();
    for (Map.Entry<String, String> e : env.entrySet()) {
      scalaEnv = scalaEnv.updated(e.getKey(), e.getValue());
    }
    return new SparkSubmitArguments(JavaConverters.asScalaBufferConverter(args).asScala().toSeq(), scalaEnv);
  }

  static Map<String, String> properties(SparkSubmitArguments args) {
    return new HashMap<>(JavaConverters.mapAsJavaMapConverter(args.sparkProperties()).asJava());
  }

  private static Path jar(Path tmp) throws Exception {
    return Files.writeString(tmp.resolve("sparkgpt-0.1.0-spark-submit.jar"), "");
  }

  @Test
  void localClientModeSetsMemoryForDriverAndExecutorsAndTheQuietLog(@TempDir Path tmp) throws Exception {
    Map<String, String> env = new LinkedHashMap<>(Map.of("SPARKGPT_JAR", jar(tmp).toString(),
        "OPENBLAS_CORETYPE", "Haswell", "SPARKGPT_OFFHEAP", "6G", "DRIVER_MEMORY_GB", "3", "EXECUTOR_MEMORY_GB", "5"));
    SparkSubmitArguments args = parsed(submit(tmp, env, "dev.sparkgpt.jobs.EvalJob", "--config", "c.yaml"));
    assertEquals("local[*]", args.master());
    assertEquals("client", args.deployMode());
    assertEquals("dev.sparkgpt.jobs.EvalJob", args.mainClass());
    assertEquals("file:" + jar(tmp), args.primaryResource());
    assertEquals(List.of("--config", "c.yaml"), JavaConverters.seqAsJavaListConverter(args.childArgs()).asJava());
    Map<String, String> p = properties(args);
    assertEquals("3g", p.get("spark.driver.memory"));
    assertEquals("3g", args.driverMemory());
    assertEquals("8g", p.get("spark.driver.memoryOverhead"), "off-heap 6G + 2G of native code");
    assertEquals("5g", p.get("spark.executor.memory"));
    assertEquals("8g", p.get("spark.executor.memoryOverhead"));
    String driver = p.get("spark.driver.extraJavaOptions");
    String executor = p.get("spark.executor.extraJavaOptions");
    assertTrue(driver.contains("--add-opens=java.base/java.nio=ALL-UNNAMED"), driver);
    assertTrue(driver.contains("-Dorg.bytedeco.javacpp.maxbytes=6G -Dorg.bytedeco.javacpp.maxphysicalbytes=11G"), driver);
    assertTrue(executor.contains("-Dorg.bytedeco.javacpp.maxphysicalbytes=13G"), executor);
    Path log4j = ROOT.resolve("conf/log4j2-spark.properties");
    assertTrue(driver.endsWith("-Dlog4j2.configurationFile=file:" + log4j), driver);
    assertTrue(Files.readString(log4j).contains("rootLogger.level = warn"));
    assertTrue(!executor.contains("log4j2"), "standalone/local executors keep their Worker's logging: " + executor);
    for (String key : List.of("spark.executorEnv", "spark.yarn.appMasterEnv", "spark.kubernetes.driverEnv")) {
      assertEquals("Haswell", p.get(key + ".OPENBLAS_CORETYPE"), key);
    }
    assertEquals("org.apache.spark.serializer.KryoSerializer", p.get("spark.serializer"));
    assertEquals(dev.sparkgpt.io.KryoSetup.class.getName(), p.get("spark.kryo.registrator"));
    assertNull(args.packages());
  }

  @Test
  void kubernetesClusterModeUsesTheImagesJarAndLogConfig(@TempDir Path tmp) throws Exception {
    SparkSubmitArguments args = parsed(submit(tmp, Map.of("MASTER", "k8s://https://127.0.0.1:6443",
        "DEPLOY_MODE", "cluster"), "dev.sparkgpt.jobs.PretrainJob", "--config", "hdfs:///conf/p.yaml"));
    assertEquals("cluster", args.deployMode());
    assertEquals(DockerfileTest.IMAGE_JAR_URI, args.primaryResource());
    Map<String, String> p = properties(args);
    String image = "-Dlog4j2.configurationFile=file:/opt/sparkgpt/conf/log4j2-spark.properties";
    assertTrue(p.get("spark.driver.extraJavaOptions").endsWith(image), p.get("spark.driver.extraJavaOptions"));
    assertTrue(p.get("spark.executor.extraJavaOptions").endsWith(image));
    assertEquals("10g", p.get("spark.driver.memoryOverhead"), "the driver pod counts ND4J's off-heap too");
  }

  @Test
  void yarnShipsTheLogConfigToEveryContainer(@TempDir Path tmp) throws Exception {
    SparkSubmitArguments args = parsed(submit(tmp, Map.of("MASTER", "yarn", "DEPLOY_MODE", "cluster",
        "SPARKGPT_JAR", "hdfs:///apps/sparkgpt.jar"), "dev.sparkgpt.jobs.TokenizeJob"),
        Map.of("HADOOP_CONF_DIR", tmp.toString()));
    assertEquals("hdfs:///apps/sparkgpt.jar", args.primaryResource());
    assertEquals("file:" + ROOT.resolve("conf/log4j2-spark.properties"), args.files());
    Map<String, String> p = properties(args);
    assertTrue(p.get("spark.driver.extraJavaOptions").endsWith("-Dlog4j2.configurationFile=log4j2-spark.properties"));
    assertTrue(p.get("spark.executor.extraJavaOptions").endsWith("-Dlog4j2.configurationFile=log4j2-spark.properties"));
  }

  @Test
  void s3aAddsTheHadoopAwsOfSparksHadoopAndAnEndpoint(@TempDir Path tmp) throws Exception {
    SparkSubmitArguments args = parsed(submit(tmp, Map.of("SPARKGPT_JAR", jar(tmp).toString(), "SPARKGPT_S3A", "1",
        "S3A_ENDPOINT", "http://127.0.0.1:9000"), "dev.sparkgpt.jobs.TokenizeJob", "--output", "s3a://b/shards"));
    // the hadoop-aws version must be the Hadoop that Spark runs on: a mismatch fails at the first s3a:// path
    assertEquals("org.apache.hadoop:hadoop-aws:" + org.apache.hadoop.util.VersionInfo.getVersion(), args.packages());
    assertEquals(dev.sparkgpt.io.MissingFileSystem.HADOOP_AWS, args.packages(), "the fix the error message gives");
    Map<String, String> p = properties(args);
    assertEquals("http://127.0.0.1:9000", p.get("spark.hadoop.fs.s3a.endpoint"));
    assertEquals("true", p.get("spark.hadoop.fs.s3a.path.style.access"));
  }

  @Test
  void aMissingJarIsOneErrorButAClusterUriIsTakenAsGiven(@TempDir Path tmp) throws Exception {
    Object[] missing = submit(tmp, Map.of("SPARKGPT_JAR", tmp.resolve("none.jar").toString()), "X");
    assertEquals(2, missing[0]);
    assertEquals("error: no uber-jar at " + tmp.resolve("none.jar")
        + ". Fix: mvn -Pspark-submit -DskipTests package (or set SPARKGPT_JAR)", ((String) missing[1]).trim());
    SparkSubmitArguments local = parsed(submit(tmp, Map.of("SPARKGPT_JAR", DockerfileTest.IMAGE_JAR_URI),
        "dev.sparkgpt.jobs.EvalJob"));
    assertEquals(DockerfileTest.IMAGE_JAR_URI, local.primaryResource());
  }
}
