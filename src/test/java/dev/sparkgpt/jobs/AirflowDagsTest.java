package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.eval.EvalReport;
import dev.sparkgpt.eval.PerplexityResult;
import dev.sparkgpt.eval.TaskResult;
import dev.sparkgpt.io.JsonFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * jobs/airflow/*.py imported with a stand-in airflow package (src/test/resources/airflow_fake) laid out as Airflow
 * 2.x and as 3.x, which refuses what real Airflow refuses (argument names, template fields, params, templates it
 * would not render). Every spark-submit the DAGs would run names a job class, carries jobs/common.sh's confs and
 * passes the job's own --dry-run (the tokenize output really made, so pretrain's dry run checks real shards); the
 * sensor and the metrics task read real files through RunProbe; the gate fails below its thresholds.
 */
class AirflowDagsTest extends SparkTestBase {
  private static final Path FAKE = Path.of("src/test/resources/airflow_fake").toAbsolutePath();
  private static final Path ROOT = SubmitScriptsTest.ROOT;

  private static String python() {
    return System.getenv().getOrDefault("PYTHON", "python3");
  }

  private static boolean hasPython(Path tmp) throws Exception {
    // the stand-in's own two libraries, used as it uses them: a python where they do not work is a skip, not a failure
    String selfCheck = "import jinja2, jsonschema\n"
        + "assert jinja2.Environment(undefined=jinja2.StrictUndefined).from_string('{{ a }}').render(a=1) == '1'\n"
        + "jsonschema.validate(1, {'type': 'integer'}, format_checker=jsonschema.FormatChecker())\n";
    String[] r = exec(Map.of(), tmp, python(), "-c", selfCheck);
    if (!"0".equals(r[0]) && !"-1".equals(r[0])) {
      System.err.println("AirflowDagsTest: " + python() + " cannot run the stand-in: " + r[2]);
    }
    return "0".equals(r[0]);
  }

  /** Runs a command from the repository root; returns {exit code, stdout, stderr}. */
  private static String[] exec(Map<String, String> env, Path tmp, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile())
        .redirectOutput(tmp.resolve("out.txt").toFile()).redirectError(tmp.resolve("err.txt").toFile());
    pb.environment().remove("OPENBLAS_CORETYPE");
    pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
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

  /**
   * extract_dags.py on {@code folder} under Airflow {@code version}, with runs under {@code runs}. SPARK_SUBMIT is a
   * launcher that runs the main class it is given on this test's classpath, so RunProbe really reads the files.
   */
  private static String[] extractRaw(String version, String folder, Path runs, Path tmp, Map<String, String> env,
      String... extra) throws Exception {
    Path launcher = tmp.resolve("spark-submit-local");
    Files.writeString(launcher, "#!/usr/bin/env bash\n# spark-submit of a main class, on the test classpath\n"
        + "while [ $# -gt 0 ]; do case \"$1\" in --class) cls=$2; shift 2;; --*) shift 2;; *) shift; break;; esac; done\n"
        + "exec java -cp \"$TEST_CLASSPATH\" \"$cls\" \"$@\"\n");
    launcher.toFile().setExecutable(true);
    List<String> command = new ArrayList<>(List.of(python(), FAKE.resolve("extract_dags.py").toString(), folder));
    command.addAll(Arrays.asList(extra));
    Map<String, String> all = new HashMap<>(Map.of("PYTHONPATH", FAKE.toString(), "SPARKGPT_HOME", ROOT.toString(),
        "SPARKGPT_RUNS", "file://" + runs, "FAKE_AIRFLOW_VERSION", version, "SPARK_SUBMIT", launcher.toString(),
        "TEST_CLASSPATH", System.getProperty("java.class.path")));
    all.putAll(env);
    return exec(all, tmp, command.toArray(String[]::new));
  }

  /** The DAGs of jobs/airflow as the stand-in rendered them, keyed by dag_id. */
  private static Map<String, JsonNode> extract(String version, Path runs, Path tmp, String... extra) throws Exception {
    String[] r = extractRaw(version, "jobs/airflow", runs, tmp, Map.of(), extra);
    assertEquals("0", r[0], r[2]);
    Map<String, JsonNode> dags = new LinkedHashMap<>();
    for (JsonNode dag : JsonFiles.MAPPER.readTree(r[1])) {
      dags.put(dag.get("dag_id").asText(), dag);
    }
    return dags;
  }

  /** What one Python task's callable returned ({"result": ...}) or raised ({"error": type, "message": ...}). */
  private static JsonNode call(String task, Path runs, Path tmp, String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("--call", task));
    args.addAll(Arrays.asList(extra));
    String[] r = extractRaw("3", "jobs/airflow", runs, tmp, Map.of(), args.toArray(String[]::new));
    assertEquals("0", r[0], r[2]);
    return JsonFiles.MAPPER.readTree(r[1]);
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
    task.at("/fields/application_args").forEach(a -> args.add(a.asText()));
    return args;
  }

  private static List<String> order(JsonNode dag) {
    List<String> order = new ArrayList<>();
    dag.get("tasks").forEach(t -> order.add(t.get("task_id").asText() + "<-" + t.get("upstream")));
    return order;
  }

  @Test
  void everySubmittedCommandPassesItsJobsDryRunInDagOrderOnAirflow2And3(@TempDir Path tmp) throws Exception {
    assumeTrue(hasPython(tmp), "no python3 with jinja2 and jsonschema");
    Path runs = tmp.resolve("runs");
    Map<String, JsonNode> dags = extract("3", runs, tmp, "--xcom", "wait_for_checkpoint=step-000045");
    assertEquals(dags.toString(), extract("2", runs, tmp, "--xcom", "wait_for_checkpoint=step-000045").toString(),
        "the same DAGs from Airflow 2.x's and 3.x's import paths");
    assertEquals(List.of("sparkgpt_eval_hourly", "sparkgpt_eval_on_pretrain", "sparkgpt_pretrain"),
        new ArrayList<>(dags.keySet()));
    JsonNode pretrainDag = dags.get("sparkgpt_pretrain");
    assertEquals(List.of("tokenize<-[]", "pretrain<-[\"tokenize\"]", "eval<-[\"pretrain\"]",
        "eval_metrics<-[\"eval\"]", "quality_gate<-[\"eval_metrics\"]"), order(pretrainDag));
    assertEquals(List.of("wait_for_checkpoint<-[]", "eval<-[\"wait_for_checkpoint\"]", "eval_metrics<-[\"eval\"]",
        "quality_gate<-[\"eval_metrics\"]"), order(dags.get("sparkgpt_eval_hourly")));
    assertEquals("file://" + runs, pretrainDag.at("/tasks/1/outlets/0").asText());
    assertEquals("dataset:file://" + runs, dags.get("sparkgpt_eval_on_pretrain").at("/schedule/0").asText());

    int checked = 0;
    for (JsonNode dag : dags.values()) {
      assertEquals(1, dag.get("max_active_runs").asInt(), dag.get("dag_id").asText());
      for (JsonNode task : dag.get("tasks")) {
        if (!task.has("java_class")) {
          continue;
        }
        String where = dag.get("dag_id").asText() + "." + task.get("task_id").asText();
        assertTrue(task.at("/fields/application").asText().matches(".*/target/sparkgpt-.*-spark-submit\\.jar"), where);
        assertEquals("spark_default", task.get("conn_id").asText(), where);
        assertEquals("sparkgpt-verdict-" + task.get("task_id").asText().replace('_', '-'),
            task.at("/fields/name").asText());
        assertEquals("org.apache.spark.serializer.KryoSerializer", task.at("/fields/conf/spark.serializer").asText());
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
    assertEquals(5, checked);
    assertTrue(Files.exists(runs.resolve("verdict/shards/_SUCCESS")));
  }

  @Test
  void aTriggersParamsChooseRunCorpusStepsAndClusterAndAreValidated(@TempDir Path tmp) throws Exception {
    assumeTrue(hasPython(tmp), "no python3 with jinja2 and jsonschema");
    Path runs = tmp.resolve("runs");
    JsonNode dag = extract("3", runs, tmp, "--conf", "{\"run\": \"web\", \"runs\": \"s3a://bucket/runs\", "
        + "\"corpus\": \"s3a://bucket/corpora/*.jsonl.gz\", \"steps\": 2000, \"cluster\": \"spark_emr\"}")
        .get("sparkgpt_pretrain");
    JsonNode tokenize = dag.at("/tasks/0");
    JsonNode pretrain = dag.at("/tasks/1");
    assertEquals("spark_emr", tokenize.get("conn_id").asText());
    List<String> tokenizeArgs = args(tokenize);
    assertEquals("s3a://bucket/corpora/*.jsonl.gz", tokenizeArgs.get(tokenizeArgs.indexOf("--input") + 1));
    assertEquals("s3a://bucket/runs/web/shards", tokenizeArgs.get(tokenizeArgs.indexOf("--output") + 1));
    assertTrue(args(pretrain).containsAll(List.of("s3a://bucket/runs/web/pretrain", "train.max_steps=2000")),
        args(pretrain).toString());
    assertEquals("s3a://bucket/runs/web/pretrain/eval/report.json", dag.at("/tasks/3/fields/op_kwargs/report").asText());

    for (String bad : List.of("{\"steps\": 0}", "{\"run\": \"my run\"}", "{\"runs\": \"/no/scheme\"}",
        "{\"min_accuracy\": 2}")) {
      String[] r = extractRaw("3", "jobs/airflow", runs, tmp, Map.of(), "--conf", bad);
      assertNotEquals("0", r[0], bad + " is refused, as Airflow refuses a trigger conf its params reject");
      assertTrue(r[2].contains("ValidationError"), bad + ": " + r[2]);
    }
  }

  @Test
  void theDryRunRefusesAMistypedKeySoTheCheckCanFail(@TempDir Path tmp) throws Exception {
    assumeTrue(hasPython(tmp), "no python3 with jinja2 and jsonschema");
    JsonNode eval = extract("3", tmp.resolve("runs"), tmp).get("sparkgpt_pretrain").at("/tasks/2");
    List<String> args = args(eval);
    args.addAll(List.of("--set", "limitt=3"));
    String[] r = dryRun(eval.get("java_class").asText(), args);
    assertEquals("2", r[0], r[1]);
    assertTrue(r[1].contains("limitt") && r[1].contains("unknown key"), r[1]);
  }

  @Test
  void sparkConfsAndFilesAreThoseOfCommonShOnYarn(@TempDir Path tmp) throws Exception {
    assumeTrue(hasPython(tmp), "no python3 with jinja2 and jsonschema");
    for (Map<String, String> env : List.of(Map.of("OPENBLAS_CORETYPE", "Zen"), Map.<String, String>of())) {
      String[] r = extractRaw("3", "jobs/airflow", tmp.resolve("runs"), tmp, env);
      assertEquals("0", r[0], r[2]);
      JsonNode task = JsonFiles.MAPPER.readTree(r[1]).get(2).at("/tasks/0");
      Map<String, String> airflow = new HashMap<>();
      task.at("/fields/conf").fields().forEachRemaining(e -> airflow.put(e.getKey(), e.getValue().asText()));
      Map<String, String> shellEnv = new HashMap<>(env);
      shellEnv.put("MASTER", "yarn");
      shellEnv.put("SPARKGPT_JAR", "hdfs:///apps/sparkgpt.jar");
      var shell = SubmitScriptsTest.parsed(SubmitScriptsTest.submit(tmp, shellEnv, "X"),
          Map.of("HADOOP_CONF_DIR", tmp.toString()));
      assertEquals(SubmitScriptsTest.properties(shell), airflow, "OPENBLAS_CORETYPE " + env);
      assertEquals(shell.files(), "file:" + task.at("/fields/files").asText());
    }
  }

  @Test
  void theEvalSensorReadsLatestAndReportsThroughRunProbe(@TempDir Path tmp) throws Exception {
    assumeTrue(hasPython(tmp), "no python3 with jinja2 and jsonschema");
    Path runs = tmp.resolve("runs");
    Path run = Files.createDirectories(runs.resolve("verdict/pretrain"));
    Files.createDirectories(run.resolve("eval"));
    String sensor = "sparkgpt_eval_hourly.wait_for_checkpoint";
    assertEquals("{\"result\":{\"is_done\":false,\"xcom_value\":null}}", call(sensor, runs, tmp).toString(),
        "no latest yet");
    Files.writeString(run.resolve("latest"), "step-000045\n");
    assertEquals("{\"result\":{\"is_done\":true,\"xcom_value\":\"step-000045\"}}", call(sensor, runs, tmp).toString());
    Files.writeString(run.resolve("eval/step-000045.json"), "{}");
    assertEquals(false, call(sensor, runs, tmp).at("/result/is_done").asBoolean(), "already evaluated");
  }

  @Test
  void evalMetricsPushReportsHeadlineAndTheGateFailsBelowItsThresholds(@TempDir Path tmp) throws Exception {
    assumeTrue(hasPython(tmp), "no python3 with jinja2 and jsonschema");
    Path runs = tmp.resolve("runs");
    EvalReport report = new EvalReport(
        Map.of("copa", new TaskResult(4, 0.75, 0.5, 0.25, 0.29, null, 1.0, 0, 8, "multiple_choice", "copa.jsonl")),
        Map.of("file:" + runs + "/verdict/shards",
            new PerplexityResult(1000, 6.0, Math.exp(6.0), 2.1, 4000, 2.0, "shards", "val", "x")),
        null, Map.of(), "2026-01-01T00:00:00Z");
    report.write(runs.resolve("verdict/pretrain/eval/report.json").toString(), dev.sparkgpt.io.HadoopConf.create());

    JsonNode metrics = call("sparkgpt_pretrain.eval_metrics", runs, tmp).get("result");
    assertEquals(0.75, metrics.get("acc/copa").asDouble());
    assertEquals(0.5, metrics.get("acc_norm/copa").asDouble());
    assertEquals(Math.exp(6.0), metrics.get("perplexity/shards/val").asDouble(), 1e-9);
    assertEquals(3, metrics.size());

    String xcom = "eval_metrics=" + metrics;
    JsonNode pass = call("sparkgpt_pretrain.quality_gate", runs, tmp, "--xcom", xcom, "--conf",
        "{\"min_accuracy\": 0.7, \"max_perplexity\": 500}");
    assertEquals(metrics, pass.get("result"));
    JsonNode lowAccuracy = call("sparkgpt_pretrain.quality_gate", runs, tmp, "--xcom", xcom, "--conf",
        "{\"min_accuracy\": 0.8}");
    assertEquals("AirflowFailException", lowAccuracy.get("error").asText());
    assertEquals("quality gate: acc/copa=0.7500 < 0.8", lowAccuracy.get("message").asText());
    JsonNode highPerplexity = call("sparkgpt_pretrain.quality_gate", runs, tmp, "--xcom", xcom, "--conf",
        "{\"max_perplexity\": 100}");
    assertEquals("quality gate: perplexity/shards/val=403.4288 > 100.0", highPerplexity.get("message").asText());
  }

  @Test
  void theStandInRefusesWhatRealAirflowRefuses(@TempDir Path tmp) throws Exception {
    assumeTrue(hasPython(tmp), "no python3 with jinja2 and jsonschema");
    String head = "from sparkgpt_common import DAG, Param, PythonSensor, common_params, sparkgpt_task\n"
        + "from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator\n";
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put("with DAG(dag_id='d', params={'cluster': 'c'}):\n"
        + "    SparkSubmitOperator(task_id='t', conn_id='{{ params.cluster }}', application='a.jar')\n",
        "'_conn_id' holds a template but Airflow does not render it");
    cases.put("with DAG(dag_id='d', schedule_interval='@daily'):\n    pass\n", "['schedule_interval']");
    cases.put("with DAG(dag_id='d', params={'steps': Param(0, type='integer', minimum=1)}):\n    pass\n",
        "param 'steps': default 0 is invalid");
    cases.put("with DAG(dag_id='d', params=common_params()):\n    sparkgpt_task('t', 'EvalJob', ['{{ params.nope }}'])\n",
        "has no attribute 'nope'");
    cases.put("with DAG(dag_id='d'):\n    PythonSensor(task_id='s', python_callable=print, mode='wait')\n",
        "The mode must be one of");
    cases.put("with DAG(dag_id='d'):\n    SparkSubmitOperator(task_id='t', application='a.jar', sla=5)\n",
        "Invalid arguments were passed to SparkSubmitOperator (t): ['sla']");
    int i = 0;
    for (Map.Entry<String, String> c : cases.entrySet()) {
      Path folder = Files.createDirectories(tmp.resolve("dags-" + i++));
      Files.copy(ROOT.resolve("jobs/airflow/sparkgpt_common.py"), folder.resolve("sparkgpt_common.py"));
      Files.writeString(folder.resolve("bad_dag.py"), head + c.getKey());
      String[] r = extractRaw("3", folder.toString(), tmp.resolve("runs"), tmp, Map.of());
      assertNotEquals("0", r[0], c.getKey());
      assertTrue(r[2].contains(c.getValue()), c.getKey() + " -> " + r[2]);
    }
  }
}
