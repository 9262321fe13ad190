package dev.sparkgpt.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.jobs.PretrainJob;
import dev.sparkgpt.model.OneThread;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A real Spark standalone cluster on this machine: a Master and two Workers as separate JVMs (classes from
 * spark-core, no Spark download), and the driver of each job in a JVM of its own, as spark-submit's client mode
 * runs it. Executors get the test classpath through spark.executor.extraClassPath — the same machine, so the same
 * files; jobs/local-cluster.sh covers the uber-jar path. Tokenize, then a parameter-averaging pretrain with 2
 * workers during which one Worker JVM and its executor are killed with SIGKILL: the run must finish and log the same
 * losses as a local[2] run of the same config.
 */
@Tag("cluster")
class StandaloneClusterTest extends SparkTestBase {
  private static final Duration START = Duration.ofSeconds(60);
  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void stopCluster() {
    for (Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  @Test
  void pretrainSurvivesALostWorkerAndMatchesLocalMode() throws Exception {
    // logs and outputs stay under target/ for a look after a failure
    OneThread.pin();
    Path dir = Path.of("target", "cluster-test").toAbsolutePath();
    org.apache.commons.io.FileUtils.deleteDirectory(dir.toFile());
    Files.createDirectories(dir);
    int port = freePort();
    String master = "spark://127.0.0.1:" + port;
    start(dir, "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
        Integer.toString(port), "--webui-port", "0");
    await(dir.resolve("master.log"), "I have been elected leader", START);
    List<Process> workers = new ArrayList<>();
    for (int i = 1; i <= 2; i++) {
      workers.add(start(dir, "worker-" + i, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
          "--cores", "1", "--memory", "2g", "--webui-port", "0", "--work-dir", dir.resolve("work-" + i).toString(),
          master));
    }
    for (int i = 1; i <= 2; i++) {
      await(dir.resolve("worker-" + i + ".log"), "Successfully registered with master", START);
    }

    Path shards = dir.resolve("shards");
    Process tokenize = driver(dir, "tokenize", master, "tokenize", "--config", "conf/tokenize/the-verdict.yaml",
        "--output", shards.toString(), "--seq-len", "32");
    assertEquals(0, waitFor(tokenize, Duration.ofMinutes(8), dir.resolve("tokenize.log")),
        () -> tail(dir.resolve("tokenize.log")));
    assertTrue(Files.exists(shards.resolve("_SUCCESS")));

    Path run = dir.resolve("run");
    List<String> sets = trainingSets(shards);
    List<String> args = new ArrayList<>(List.of("pretrain", "--out-dir", run.toString()));
    sets.forEach(s -> args.addAll(List.of("--set", s)));
    Process pretrain = driver(dir, "pretrain", master, args.toArray(String[]::new));
    long killedAt = awaitStep(run.resolve("metrics.jsonl"), 12, pretrain, dir.resolve("pretrain.log"));
    Process lost = workers.get(1);
    lost.descendants().forEach(ProcessHandle::destroyForcibly);   // its executor JVM
    lost.destroyForcibly();                                        // and the Worker: a machine gone mid-run
    assertEquals(0, waitFor(pretrain, Duration.ofMinutes(10), dir.resolve("pretrain.log")),
        () -> tail(dir.resolve("pretrain.log")));
    assertTrue(killedAt < 40, "the worker died mid-training (step " + killedAt + ")");

    Map<Long, Double> cluster = trainLosses(run.resolve("metrics.jsonl"));
    assertEquals(40L, cluster.keySet().stream().mapToLong(Long::longValue).max().orElse(0));
    PretrainConfig local = ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), null, sets,
        Map.of("out_dir", dir.resolve("local").toString()), null).validate();
    PretrainJob.run(spark, local, new PrintStream(OutputStream.nullOutputStream()));
    Map<Long, Double> reference = trainLosses(dir.resolve("local/metrics.jsonl"));
    assertEquals(reference.keySet(), cluster.keySet());
    // Same data split, same seeds, same ND4J threads on both sides: the losses agree to the last bit.
    assertEquals(reference, cluster);

    // The worker count changes across a resume: the surviving worker alone continues the same global data stream
    // to step 50 (the half-read block of the dropped worker is finished first), on the cluster as in local mode.
    List<String> alone = new ArrayList<>(sets);
    alone.replaceAll(s -> s.equals("train.workers=2") ? "train.workers=1"
        : s.equals("train.max_steps=40") ? "train.max_steps=50" : s);
    List<String> again = new ArrayList<>(List.of("pretrain", "--out-dir", run.toString()));
    alone.forEach(s -> again.addAll(List.of("--set", s)));
    Process resumed = driver(dir, "pretrain-alone", master, again.toArray(String[]::new));
    assertEquals(0, waitFor(resumed, Duration.ofMinutes(10), dir.resolve("pretrain-alone.log")),
        () -> tail(dir.resolve("pretrain-alone.log")));
    assertTrue(Files.readString(dir.resolve("pretrain-alone.log")).contains("resumed from"),
        () -> tail(dir.resolve("pretrain-alone.log")));
    PretrainJob.run(spark, ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), null, alone,
        Map.of("out_dir", dir.resolve("local").toString()), null).validate(),
        new PrintStream(OutputStream.nullOutputStream()));
    Map<Long, Double> clusterAlone = trainLosses(run.resolve("metrics.jsonl"));
    assertEquals(50L, clusterAlone.keySet().stream().mapToLong(Long::longValue).max().orElse(0));
    assertEquals(trainLosses(dir.resolve("local/metrics.jsonl")), clusterAlone);
  }

  private static List<String> trainingSets(Path shards) {
    return List.of("model_name=gpt2-tiny", "model.emb_dim=16", "model.n_heads=2", "model.n_layers=1",
        "model.context_length=32", "model.drop_rate=0", "data.text=null", "data.shards=" + shards,
        "train.strategy=parameter_averaging", "train.workers=2", "train.averaging_frequency=2",
        "train.micro_batch_size=2", "train.global_batch_size=2", "train.max_steps=40", "train.lr_warmup_steps=0",
        "train.log_interval=2", "train.save_interval=10", "eval.interval=20", "eval.max_iters=2",
        "eval.max_new_tokens=3", "optimizer.lr=0.01", "optimizer.min_lr=0.01");
  }

  private Process start(Path dir, String name, String mainClass, String... args) throws IOException {
    Path log4j = dir.resolve("log4j2-deploy.properties");   // the deploy classes' INFO lines say when they are up
    Files.writeString(log4j, String.join("\n", "rootLogger.level = warn", "rootLogger.appenderRef.out.ref = out",
        "appender.out.type = Console", "appender.out.name = out", "appender.out.layout.type = PatternLayout",
        "appender.out.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n", "logger.deploy.name = org.apache.spark.deploy",
        "logger.deploy.level = info", ""));
    List<String> command = new ArrayList<>(List.of(java(), "-Xmx512m", "-Dlog4j.configurationFile=" + log4j));
    command.addAll(opens());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
    command.addAll(List.of(args));
    // A Worker builds executor command lines from $SPARK_HOME/jars; an empty one will do, since
    // spark.executor.extraClassPath carries the classes.
    Path sparkHome = Files.createDirectories(dir.resolve("spark-home/jars")).getParent();
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.12");
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  /** A job's driver JVM against the cluster: dev.sparkgpt.cli.Main with the confs jobs/common.sh passes. */
  private Process driver(Path dir, String name, String master, String... args) throws IOException {
    String opens = String.join(" ", opens());
    List<String> conf = List.of("-Dspark.master=" + master, "-Dspark.driver.host=127.0.0.1",
        "-Dspark.executor.extraClassPath=" + System.getProperty("java.class.path"),
        "-Dspark.executor.extraJavaOptions=" + opens + " -Dorg.bytedeco.javacpp.maxbytes=2G",
        "-Dspark.executorEnv.OMP_NUM_THREADS=" + ompThreads(), "-Dspark.executor.memory=1g", "-Dspark.cores.max=2",
        "-Dspark.task.maxFailures=4", "-Dspark.ui.enabled=false");
    List<String> command = new ArrayList<>(List.of(java(), "-Xmx1g"));
    command.addAll(opens());
    command.addAll(conf);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.sparkgpt.cli.Main"));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    pb.environment().put("OMP_NUM_THREADS", ompThreads());
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  /** One ND4J/OpenMP thread in executors, as in this JVM's local[2] run (pinned), so results match bit for bit. */
  private static String ompThreads() {
    return "1";
  }

  private static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /** The --add-opens/--add-exports of this JVM (Surefire's argLine), which Spark and ND4J need on Java 17. */
  private static List<String> opens() {
    List<String> opens = new ArrayList<>();
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens") || a.startsWith("--add-exports")) {
        opens.add(a);
      }
    }
    return opens;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void await(Path log, String line, Duration timeout) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      if (Files.exists(log) && Files.readString(log).contains(line)) {
        return;
      }
      Thread.sleep(200);
    }
    fail("no '" + line + "' in " + log + " after " + timeout + ":\n" + tail(log));
  }

  /** Waits until metrics.jsonl logs a step ≥ {@code step}; returns the step seen. */
  private static long awaitStep(Path metrics, long step, Process driver, Path log) throws Exception {
    long end = System.nanoTime() + Duration.ofMinutes(4).toNanos();
    while (System.nanoTime() < end && driver.isAlive()) {
      if (Files.exists(metrics)) {
        long last = trainLosses(metrics).keySet().stream().mapToLong(Long::longValue).max().orElse(0);
        if (last >= step) {
          return last;
        }
      }
      Thread.sleep(100);
    }
    fail("the run did not reach step " + step + ":\n" + tail(log));
    return -1;
  }

  private static Map<Long, Double> trainLosses(Path metrics) throws IOException {
    Map<Long, Double> losses = new LinkedHashMap<>();
    for (String line : Files.readAllLines(metrics)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode n = JsonFiles.MAPPER.readTree(line);
      if (n.has("train_loss")) {
        losses.put(n.get("step").asLong(), n.get("train_loss").asDouble());
      }
    }
    return losses;
  }

  /** The exit code; a driver still running after {@code timeout} (a machine overloaded, or a hang) fails the test. */
  private static int waitFor(Process p, Duration timeout, Path log) throws InterruptedException {
    if (!p.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      org.junit.jupiter.api.Assertions.fail("driver still running after " + timeout + " (killed); its log:\n"
          + tail(log));
    }
    return p.exitValue();
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
