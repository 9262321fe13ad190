package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.io.JsonFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * jobs/airflow/*.py imported with a fake airflow package (src/test/resources/airflow_fake) that records the
 * operators: every spark-submit they would run names a job class, carries jobs/common.sh's confs and passes the
 * job's own --dry-run (the tokenize output really made, so pretrain's dry run checks real shards).
 */
class AirflowDagsTest extends SparkTestBase {
  private static final Path FAKE = Path.of("src/test/resources/airflow_fake").toAbsolutePath();

  private static String python() {
    return System.getenv().getOrDefault("PYTHON", "python3");
  }

  /** Runs a command from the repository root; returns {exit code, stdout, stderr}. */
  private static String[] exec(Map<String, String> env, Path tmp, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).directory(Path.of("").toAbsolutePath().toFile())
        .redirectOutput(tmp.resolve("out.txt").toFile()).redirectError(tmp.resolve("err.txt").toFile());
    pb.environment().putAll(env);
    try {
      Process p = pb.start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new String[] {"-1", "", "timed out"};
      }
      return new String[] {String.valueOf(p.exitValue()), Files.readString(tmp.resolve("out.txt")),
          Files.readString(tmp.resolve("err.txt"))};
    } catch (IOException e) {
      return new String[] {"-1", "", e.getMessage()};
    }
  }

  /** The DAGs as the fake airflow recorded them, keyed by dag_id. */
  private static Map<String, JsonNode> extract(Path runs, Path tmp, String... extra) throws Exception {
    List<String> command = new ArrayList<>(List.of(python(), FAKE.resolve("extract_dags.py").toString(),
        "jobs/airflow", "--xcom", "wait_for_checkpoint=step-000045"));
    command.addAll(Arrays.asList(extra));
    String[] r = exec(Map.of("PYTHONPATH", FAKE.toString(), "SPARKGPT_HOME", Path.of("").toAbsolutePath().toString(),
        "SPARKGPT_RUNS", runs.toString()), tmp, command.toArray(String[]::new));
    assertEquals("0", r[0], r[2]);
    Map<String, JsonNode> dags = new LinkedHashMap<>();
    for (JsonNode dag : JsonFiles.MAPPER.readTree(r[1])) {
      dags.put(dag.get("dag_id").asText(), dag);
    }
    return dags;
  }

  /** Runs {@code javaClass} in this JVM with {@code args} + --dry-run; returns {exit code, stdout + stderr}. */
  private static String[] dryRun(String javaClass, List<String> args) throws Exception {
    Object job = Class.forName(javaClass).getDeclaredConstructor().newInstance();
    CommandLine cli = Jobs.commandLine(job);
    java.io.StringWriter err = new java.io.StringWriter();
    cli.setErr(new java.io.PrintWriter(err, true));
    PrintStream old = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<String> all = new ArrayList<>(args);
    all.add("--dry-run");
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      int code = cli.execute(all.toArray(String[]::new));
      return new String[] {String.valueOf(code), out.toString(StandardCharsets.UTF_8) + err};
    } finally {
      System.setOut(old);
    }
  }

  private static List<String> args(JsonNode task) {
    List<String> args = new ArrayList<>();
    task.get("application_args").forEach(a -> args.add(a.asText()));
    return args;
  }

  @Test
  void everySubmittedCommandPassesItsJobsDryRunInDagOrder(@TempDir Path tmp) throws Exception {
    assumeTrue(!exec(Map.of(), tmp, python(), "-c", "import json")[0].equals("-1"), "no python3");
    Path runs = tmp.resolve("runs");
    Map<String, JsonNode> dags = extract(runs, tmp);
    assertEquals(List.of("sparkgpt_eval_hourly", "sparkgpt_eval_on_pretrain", "sparkgpt_pretrain"),
        new ArrayList<>(dags.keySet()));

    JsonNode pretrainDag = dags.get("sparkgpt_pretrain");
    List<String> order = new ArrayList<>();
    pretrainDag.get("tasks").forEach(t -> order.add(t.get("task_id").asText() + "<-" + t.get("upstream")));
    assertEquals(List.of("tokenize<-[]", "pretrain<-[\"tokenize\"]", "eval_step_000045<-[\"pretrain\"]",
        "eval_step_000090<-[\"pretrain\"]"), order);
    String pretrainDir = runs.resolve("verdict/pretrain").toString();
    assertEquals(pretrainDir, pretrainDag.at("/tasks/1/outlets/0").asText());
    assertEquals("dataset:" + pretrainDir, dags.get("sparkgpt_eval_on_pretrain").at("/schedule/0").asText());

    int checked = 0;
    for (JsonNode dag : dags.values()) {
      for (JsonNode task : dag.get("tasks")) {
        if (!task.has("java_class")) {
          continue;
        }
        String where = dag.get("dag_id").asText() + "." + task.get("task_id").asText();
        assertTrue(task.get("application").asText().matches(".*/target/sparkgpt-.*-spark-submit\\.jar"), where);
        assertEquals("org.apache.spark.serializer.KryoSerializer", task.at("/conf/spark.serializer").asText());
        assertEquals(dev.sparkgpt.io.KryoSetup.class.getName(), task.at("/conf/spark.kryo.registrator").asText());
        String[] r = dryRun(task.get("java_class").asText(), args(task));
        assertEquals("0", r[0], where + ": " + r[1]);
        assertTrue(r[1].contains("dry run: ") && r[1].contains("nothing written"), where + ": " + r[1]);
        if (task.get("task_id").asText().equals("tokenize")) { // make the shards the pretrain dry run reads
          TokenizeJob tokenize = new TokenizeJob();
          new CommandLine(tokenize).parseArgs(args(task).toArray(String[]::new));
          TokenizeJob.run(spark, tokenize.resolveConfig(), new PrintStream(new ByteArrayOutputStream()));
        }
        checked++;
      }
    }
    assertEquals(6, checked);
    assertTrue(Files.exists(runs.resolve("verdict/shards/_SUCCESS")));
  }

  @Test
  void theDryRunRefusesAMistypedKeySoTheCheckCanFail(@TempDir Path tmp) throws Exception {
    assumeTrue(!exec(Map.of(), tmp, python(), "-c", "import json")[0].equals("-1"), "no python3");
    JsonNode eval = extract(tmp.resolve("runs"), tmp).get("sparkgpt_pretrain").at("/tasks/2");
    List<String> args = args(eval);
    args.addAll(List.of("--set", "limitt=3"));
    String[] r = dryRun(eval.get("java_class").asText(), args);
    assertEquals("2", r[0], r[1]);
    assertTrue(r[1].contains("limitt") && r[1].contains("unknown key"), r[1]);
  }

  @Test
  void javaOptionsAreThoseOfJvmOptsAndCommonSh(@TempDir Path tmp) throws Exception {
    assumeTrue(!exec(Map.of(), tmp, python(), "-c", "import json")[0].equals("-1"), "no python3");
    String[] shell = exec(Map.of(), tmp, "bash", "-c", "source bin/jvm-opts.sh; echo $SPARKGPT_ADD_OPENS");
    assertEquals("0", shell[0], shell[2]);
    JsonNode task = extract(tmp.resolve("runs"), tmp).get("sparkgpt_pretrain").at("/tasks/0");
    String expected = shell[1].trim() + " -Dorg.bytedeco.javacpp.maxbytes=8G -Dorg.bytedeco.javacpp.maxphysicalbytes=14G";
    assertEquals(expected, task.at("/conf/spark.driver.extraJavaOptions").asText());
    assertEquals(expected, task.at("/conf/spark.executor.extraJavaOptions").asText());
    assertEquals("8g", task.at("/conf/spark.executor.memoryOverhead").asText());
  }

  @Test
  void theEvalSensorWaitsForALatestCheckpointWithoutAReport(@TempDir Path tmp) throws Exception {
    assumeTrue(!exec(Map.of(), tmp, python(), "-c", "import json")[0].equals("-1"), "no python3");
    Path run = tmp.resolve("run");
    Files.createDirectories(run.resolve("eval"));
    assertEquals(false, poke(run, tmp).get("is_done").asBoolean(), "no latest yet");
    Files.writeString(run.resolve("latest"), "step-000045\n");
    JsonNode poke = poke(run, tmp);
    assertEquals(true, poke.get("is_done").asBoolean());
    assertEquals("step-000045", poke.get("xcom_value").asText());
    Files.writeString(run.resolve("eval/step-000045.json"), "{}");
    assertEquals(false, poke(run, tmp).get("is_done").asBoolean(), "already evaluated");
  }

  private static JsonNode poke(Path run, Path tmp) throws Exception {
    return extract(tmp.resolve("runs"), tmp, "--poke", run.toString()).get("sparkgpt_eval_hourly")
        .at("/tasks/0/poke");
  }
}
