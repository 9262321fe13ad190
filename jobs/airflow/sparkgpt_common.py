"""What every SparkGPT DAG shares: the uber-jar, the spark-submit confs of jobs/common.sh, and where runs go.

Written once here, as jobs/common.sh writes them once for the shell scripts (AirflowDagsTest checks the two agree).
Settings come from the Airflow worker's environment:
  SPARKGPT_HOME  checkout of SparkGPT on the worker: conf/*.yaml and the bundled data are read from there
  SPARKGPT_JAR   the uber-jar of `mvn -Pspark-submit -DskipTests package` (default: $SPARKGPT_HOME/target/...)
  SPARKGPT_RUNS  where shards, checkpoints and reports go: hdfs:///..., s3a://... or a shared local path
  SPARK_CONN_ID  the Airflow Spark connection (master: spark://host:7077, yarn, k8s://...), default spark_default
  SPARKGPT_OFFHEAP / EXECUTOR_MEMORY_GB  ND4J off-heap limit (e.g. 8G) and executor heap in GB, as for jobs/*.sh
"""
import glob
import os

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

SPARKGPT_HOME = os.environ.get("SPARKGPT_HOME", "/opt/sparkgpt")
RUNS = os.environ.get("SPARKGPT_RUNS", "hdfs:///sparkgpt/runs")
CONN_ID = os.environ.get("SPARK_CONN_ID", "spark_default")
OFFHEAP_GB = int(os.environ.get("SPARKGPT_OFFHEAP", "8G").rstrip("Gg"))
EXECUTOR_MEMORY_GB = int(os.environ.get("EXECUTOR_MEMORY_GB", "4"))


def application():
    """The uber-jar: $SPARKGPT_JAR, else the one `mvn -Pspark-submit` left in $SPARKGPT_HOME/target."""
    if "SPARKGPT_JAR" in os.environ:
        return os.environ["SPARKGPT_JAR"]
    jars = sorted(glob.glob(os.path.join(SPARKGPT_HOME, "target", "sparkgpt-*-spark-submit.jar")))
    return jars[-1] if jars else os.path.join(SPARKGPT_HOME, "target", "sparkgpt-0.1.0-SNAPSHOT-spark-submit.jar")


def home(path):
    """A file of the SparkGPT checkout (a conf/ YAML, bundled data), as an absolute path."""
    return os.path.join(SPARKGPT_HOME, path)


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

# ND4J allocates outside the heap; JavaCPP caps it (maxbytes) and the whole process (maxphysicalbytes).
JAVA_OPTS = " ".join(ADD_OPENS + (
    f"-Dorg.bytedeco.javacpp.maxbytes={OFFHEAP_GB}G",
    f"-Dorg.bytedeco.javacpp.maxphysicalbytes={OFFHEAP_GB + EXECUTOR_MEMORY_GB + 2}G",
))

# The --conf of jobs/common.sh's sparkgpt_submit.
SPARK_CONF = {
    "spark.driver.extraJavaOptions": JAVA_OPTS,
    "spark.executor.extraJavaOptions": JAVA_OPTS,
    "spark.executorEnv.OMP_NUM_THREADS": os.environ.get("EXECUTOR_THREADS", "1"),
    "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
    "spark.kryo.registrator": "dev.sparkgpt.io.KryoSetup",
    "spark.executor.memory": f"{EXECUTOR_MEMORY_GB}g",
    "spark.executor.memoryOverhead": f"{OFFHEAP_GB}g",
    "spark.sql.parquet.compression.codec": "zstd",
}


def sparkgpt_task(task_id, job_class, args, **kwargs):
    """A SparkSubmitOperator running dev.sparkgpt.jobs.<job_class> with the CLI verb's arguments."""
    return SparkSubmitOperator(
        task_id=task_id,
        conn_id=CONN_ID,
        application=application(),
        java_class="dev.sparkgpt.jobs." + job_class,
        conf=dict(SPARK_CONF),
        application_args=list(args),
        name="sparkgpt-" + task_id.replace("_", "-"),
        **kwargs,
    )
