"""What every SparkGPT DAG shares: Airflow names valid on 2.x and 3.x, the uber-jar, the spark-submit confs of
jobs/common.sh, the DAG params, and reading a run's files on any Hadoop file system.

Tested against the operator signatures and import paths of Airflow 2.9-2.10 and 3.0-3.1 with
apache-airflow-providers-apache-spark 4.x-5.x (AirflowDagsTest, a stand-in package: there is no Airflow here).
Settings come from the Airflow worker's environment (jobs/common.sh takes the same names):
  SPARKGPT_HOME  checkout of SparkGPT on the worker (its conf/log4j2-spark.properties, target/ uber-jar)
  SPARKGPT_CONF_DIR  conf/ as a local path where the driver runs (default $SPARKGPT_HOME/conf: client deploy mode;
                 /opt/sparkgpt/conf in the Docker image); YAMLs are read from the driver's disk
  SPARKGPT_FILES Hadoop URI of a checkout the driver reads bundled data from (default file://$SPARKGPT_HOME;
                 file:///opt/sparkgpt in the Docker image); corpora and task files are Hadoop paths
  SPARKGPT_LOG4J_FILES  --files for every container (default $SPARKGPT_HOME/conf/log4j2-spark.properties; empty on
                 Kubernetes, whose image has it) and SPARKGPT_LOG4J_DRIVER / SPARKGPT_LOG4J_EXECUTOR: the
                 -Dlog4j2.configurationFile of each (default the worker's file / the shipped relative name)
  SPARKGPT_JAR   the uber-jar: a file on the worker (default $SPARKGPT_HOME/target/...) or a URI the cluster reads
                 (local:///opt/sparkgpt/sparkgpt-spark-submit.jar in the Docker image, hdfs://, s3a://)
  SPARKGPT_RUNS  default root of runs: hdfs:///sparkgpt/runs, s3a://bucket/runs, ... (a DAG param overrides it)
  SPARK_CONN_ID  default Spark connection (master spark://, yarn, k8s://; deploy mode in its extra)
  SPARK_SUBMIT   spark-submit on the worker, for reading run files (default: spark-submit on PATH)
  SPARKGPT_OFFHEAP / DRIVER_MEMORY_GB / EXECUTOR_MEMORY_GB / EXECUTOR_THREADS / OPENBLAS_CORETYPE  as jobs/*.sh
"""
import glob
import json
import os
import subprocess

from airflow.exceptions import AirflowFailException
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

try:  # Airflow 3.x
    from airflow.sdk import DAG, Asset as Dataset, Param
    from airflow.sdk.bases.sensor import PokeReturnValue
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.datasets import Dataset
    from airflow.models.param import Param
    from airflow.sensors.base import PokeReturnValue
try:  # the standard provider: Airflow 3.x, and 2.x where it is installed
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.providers.standard.sensors.python import PythonSensor
except ImportError:
    from airflow.operators.python import PythonOperator
    from airflow.sensors.python import PythonSensor

__all__ = ["DAG", "Dataset", "Param", "PokeReturnValue", "PythonOperator", "PythonSensor", "AirflowFailException"]

SPARKGPT_HOME = os.environ.get("SPARKGPT_HOME", "/opt/sparkgpt")
CONF_DIR = os.environ.get("SPARKGPT_CONF_DIR", os.path.join(SPARKGPT_HOME, "conf"))
FILES = os.environ.get("SPARKGPT_FILES", "file://" + SPARKGPT_HOME).rstrip("/")
RUNS = os.environ.get("SPARKGPT_RUNS", "hdfs:///sparkgpt/runs").rstrip("/")
CONN_ID = os.environ.get("SPARK_CONN_ID", "spark_default")
OFFHEAP_GB = int(os.environ.get("SPARKGPT_OFFHEAP", "8G").rstrip("Gg"))
DRIVER_MEMORY_GB = int(os.environ.get("DRIVER_MEMORY_GB", "4"))
EXECUTOR_MEMORY_GB = int(os.environ.get("EXECUTOR_MEMORY_GB", "4"))
LOG4J = "log4j2-spark.properties"


def application():
    """The uber-jar: $SPARKGPT_JAR, else the one `mvn -Pspark-submit` left in $SPARKGPT_HOME/target."""
    if "SPARKGPT_JAR" in os.environ:
        return os.environ["SPARKGPT_JAR"]
    return local_jar()


def local_jar():
    """The uber-jar as a file on this worker (RunProbe runs it here): $SPARKGPT_HOME/target/..."""
    jars = sorted(glob.glob(os.path.join(SPARKGPT_HOME, "target", "sparkgpt-*-spark-submit.jar")))
    return jars[-1] if jars else os.path.join(SPARKGPT_HOME, "target", "sparkgpt-0.1.0-SNAPSHOT-spark-submit.jar")


def conf_file(name):
    """A conf/ YAML as a local path where the driver runs (the CLI reads configs from local disk)."""
    return os.path.join(CONF_DIR, name)


def data_file(path):
    """A bundled file of the checkout (src/main/resources/data/...) as a Hadoop URI the driver reads."""
    return f"{FILES}/{path}"


# Java 17 lets Spark and ND4J reach JDK internals only with these (bin/jvm-opts.sh SPARKGPT_ADD_OPENS).
ADD_OPENS = (
    "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
    "--add-opens=java.base/sun.security.action=ALL-UNNAMED", "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED", "-Djdk.reflect.useDirectMethodHandle=false",
)


def java_options(heap_gb, log4j):
    """ND4J's off-heap limits (JavaCPP maxbytes, and maxphysicalbytes for the whole process) and the log config."""
    return " ".join(ADD_OPENS + (
        f"-Dorg.bytedeco.javacpp.maxbytes={OFFHEAP_GB}G",
        f"-Dorg.bytedeco.javacpp.maxphysicalbytes={OFFHEAP_GB + heap_gb + 2}G",
        f"-Dlog4j2.configurationFile={log4j}",
    ))


def openblas_coretype():
    """bin/jvm-opts.sh's choice: $OPENBLAS_CORETYPE, else from this worker's CPU flags (None: OpenBLAS decides)."""
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return None
    if {"avx512f", "avx512bw", "avx512vl"} <= set(flags):
        return "SkylakeX"
    return "Haswell" if "avx2" in flags else None


def spark_conf():
    """The --conf of jobs/common.sh's sparkgpt_submit for a Kubernetes image or any cluster reading SPARKGPT_FILES:
    the log config travels with --files (YARN) or sits in the image (/opt/sparkgpt/conf); see sparkgpt_task."""
    overhead = f"{OFFHEAP_GB + 2}g"  # heap + off-heap + ~2 GB native: a container holds maxphysicalbytes
    conf = {
        "spark.driver.extraJavaOptions": java_options(DRIVER_MEMORY_GB, LOG4J_DRIVER),
        "spark.executor.extraJavaOptions": java_options(EXECUTOR_MEMORY_GB, LOG4J_EXECUTOR),
        "spark.executorEnv.OMP_NUM_THREADS": os.environ.get("EXECUTOR_THREADS", "1"),
        "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
        "spark.kryo.registrator": "dev.sparkgpt.io.KryoSetup",
        "spark.driver.memory": f"{DRIVER_MEMORY_GB}g",
        "spark.driver.memoryOverhead": overhead,
        "spark.executor.memory": f"{EXECUTOR_MEMORY_GB}g",
        "spark.executor.memoryOverhead": overhead,
        "spark.sql.parquet.compression.codec": "zstd",
    }
    coretype = openblas_coretype()
    if coretype:
        for prefix in ("spark.executorEnv", "spark.yarn.appMasterEnv", "spark.kubernetes.driverEnv"):
            conf[f"{prefix}.OPENBLAS_CORETYPE"] = coretype
    return conf


# log4j2-spark.properties, as jobs/common.sh passes it for YARN: shipped to every container with --files, so the
# relative name finds it in each executor's working directory; a client-mode driver reads the worker's copy.
LOG4J_FILES = os.environ.get("SPARKGPT_LOG4J_FILES", os.path.join(SPARKGPT_HOME, "conf", LOG4J)) or None
LOG4J_DRIVER = os.environ.get("SPARKGPT_LOG4J_DRIVER", f"file:{SPARKGPT_HOME}/conf/{LOG4J}")
LOG4J_EXECUTOR = os.environ.get("SPARKGPT_LOG4J_EXECUTOR", LOG4J)


class SparkGptSubmitOperator(SparkSubmitOperator):
    """SparkSubmitOperator whose Spark connection is templated as well, so the `cluster` param picks it per run."""

    template_fields = (*SparkSubmitOperator.template_fields, "_conn_id")


def sparkgpt_task(task_id, job_class, args, **kwargs):
    """A spark-submit of dev.sparkgpt.jobs.<job_class> with the CLI verb's arguments, on the run's cluster."""
    return SparkGptSubmitOperator(
        task_id=task_id,
        conn_id="{{ params.cluster }}",
        application=application(),
        java_class="dev.sparkgpt.jobs." + job_class,
        conf=spark_conf(),
        files=LOG4J_FILES,
        application_args=list(args),
        name="sparkgpt-{{ params.run }}-" + task_id.replace("_", "-"),
        **kwargs,
    )


def common_params(**more):
    """The params every SparkGPT DAG takes (a trigger's conf overrides them): run name, runs root, cluster, and the
    quality gate's thresholds (perplexity: 50,257 is a uniform guess over GPT-2's vocabulary)."""
    params = {
        "run": Param("verdict", type="string", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                     description="Run name: its files go under <runs>/<run>/"),
        "runs": Param(RUNS, type="string", pattern=r"^[a-z][a-z0-9+.-]*:/",
                      description="Root of runs on the cluster's file system (hdfs:///..., s3a://bucket/..., gs://...)"),
        "cluster": Param(CONN_ID, type="string", minLength=1, description="Airflow Spark connection to submit to"),
        "min_accuracy": Param(0.0, type="number", minimum=0, maximum=1,
                              description="Quality gate: every eval task's accuracy at least this"),
        "max_perplexity": Param(50257.0, type="number", exclusiveMinimum=0,
                                description="Quality gate: every perplexity at most this"),
    }
    params.update(more)
    return params


RUN_DIR = "{{ params.runs }}/{{ params.run }}"
# Published by the pretrain task, scheduling sparkgpt_eval_on_pretrain: an Airflow Dataset (2.x) / Asset (3.x) on the
# runs root, since the run name is a param known only at run time.
PRETRAIN_RUNS = Dataset(RUNS)


def read_run_files(*paths):
    """RunProbe's answer for these Hadoop paths: path -> {exists, text | children}; spark-submit in local mode on
    this worker, with the cluster's Hadoop configuration (HADOOP_CONF_DIR, spark-defaults)."""
    command = [os.environ.get("SPARK_SUBMIT", "spark-submit"), "--master", "local[1]",
               "--class", "dev.sparkgpt.jobs.RunProbe", "--conf", "spark.ui.enabled=false",
               "--driver-java-options", f"-Dlog4j2.configurationFile=file:{SPARKGPT_HOME}/conf/{LOG4J}",
               local_jar(), *paths]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"RunProbe failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def new_checkpoint(run_dir):
    """Sensor: the step directory `latest` names when eval/<step>.json is not there yet (XCom: the step name)."""
    latest, evals = f"{run_dir}/latest", f"{run_dir}/eval"
    state = read_run_files(latest, evals)
    if not state[latest]["exists"]:
        return PokeReturnValue(is_done=False)
    step = state[latest]["text"].strip()
    done = f"{step}.json" in state[evals].get("children", [])
    return PokeReturnValue(is_done=not done, xcom_value=step)


def headline_metrics(report):
    """report.json's headline numbers, flat for XCom: acc/<task>, acc_norm/<task>, perplexity/<data>."""
    state = read_run_files(report)[report]
    if not state["exists"]:
        raise AirflowFailException(f"{report}: no eval report. Fix: look at the eval task's log")
    data = json.loads(state["text"])
    metrics = {}
    for task, r in data.get("tasks", {}).items():
        metrics[f"acc/{task}"] = r["acc"]
        if r.get("acc_norm") is not None:
            metrics[f"acc_norm/{task}"] = r["acc_norm"]
    for path, r in data.get("perplexity", {}).items():
        name = "/".join(p for p in (path.rstrip("/").split("/")[-1], r.get("split")) if p)
        metrics[f"perplexity/{name}"] = r["perplexity"]
    return metrics


def quality_gate(ti, min_accuracy, max_perplexity):
    """Fails the DAG run (no retry) when a task's accuracy is below min_accuracy or a perplexity above the max."""
    metrics = ti.xcom_pull(task_ids="eval_metrics")
    min_accuracy, max_perplexity = float(min_accuracy), float(max_perplexity)
    failed = [f"{k}={v:.4f} < {min_accuracy}" for k, v in metrics.items() if k.startswith("acc/") and v < min_accuracy]
    failed += [f"{k}={v:.4f} > {max_perplexity}" for k, v in metrics.items()
               if k.startswith("perplexity/") and v > max_perplexity]
    if failed:
        raise AirflowFailException("quality gate: " + ", ".join(failed))
    return metrics


def eval_and_gate(checkpoint, report, eval_args):
    """eval (spark-submit) -> eval_metrics (report.json's headline numbers to XCom) -> quality_gate; returns both ends."""
    evaluate = sparkgpt_task("eval", "EvalJob", ["--checkpoint", checkpoint, *eval_args, "--out", report])
    metrics = PythonOperator(task_id="eval_metrics", python_callable=headline_metrics, op_kwargs={"report": report})
    gate = PythonOperator(
        task_id="quality_gate", python_callable=quality_gate,
        op_kwargs={"min_accuracy": "{{ params.min_accuracy }}", "max_perplexity": "{{ params.max_perplexity }}"})
    evaluate >> metrics >> gate
    return evaluate, gate
