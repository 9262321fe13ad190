# Sourced by the jobs/*.sh spark-submit scripts: the --conf every SparkGPT job needs, written once
# (jobs/airflow/sparkgpt_common.py mirrors it; SubmitScriptsTest checks the two agree).
# Usage in a script: source jobs/common.sh; sparkgpt_submit dev.sparkgpt.jobs.XJob "$@"
# Settings, from the environment:
#   SPARK_SUBMIT       spark-submit to run (default: spark-submit on PATH)
#   MASTER             local[*] (default), spark://host:7077, yarn, k8s://https://host:6443
#   DEPLOY_MODE        client (default: the driver runs here) or cluster (the driver runs on a cluster node)
#   SPARKGPT_JAR       the uber-jar: a file here (default target/sparkgpt-*-spark-submit.jar) or a URI the cluster
#                      reads: hdfs://, s3a://, or local:///opt/sparkgpt/sparkgpt-spark-submit.jar inside the Docker
#                      image (the default for MASTER=k8s://... with DEPLOY_MODE=cluster)
#   DRIVER_MEMORY_GB / EXECUTOR_MEMORY_GB   JVM heaps (default 4 and 4); SPARKGPT_OFFHEAP: ND4J off-heap (8G)
#   EXECUTOR_THREADS   BLAS/OpenMP threads per executor (default 1)
#   SPARKGPT_S3A=1     add --packages org.apache.hadoop:hadoop-aws:3.3.4 (s3a:// on a Spark that lacks it)
#   S3A_ENDPOINT       an S3-compatible store (MinIO, Ceph): sets fs.s3a.endpoint and path-style access
#   SPARK_SUBMIT_EXTRA more spark-submit options, word-split (e.g. "--num-executors 8")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
source "$root/bin/jvm-opts.sh"

# Where the Docker image (Dockerfile) keeps the jar and conf/: the same path on the driver and every executor.
SPARKGPT_IMAGE_HOME=/opt/sparkgpt
# hadoop-aws of the Hadoop that Spark 3.5.1 ships (3.3.4); it brings aws-java-sdk-bundle 1.12.262 with it.
SPARKGPT_S3A_PACKAGE=org.apache.hadoop:hadoop-aws:3.3.4
# Quiet driver and executor logs (warnings and errors, plus the application id and state): conf/ of the checkout.
SPARKGPT_LOG4J=log4j2-spark.properties

sparkgpt_submit() {
  local class=$1; shift
  local master=${MASTER:-local[*]} mode=${DEPLOY_MODE:-client}
  local jar=${SPARKGPT_JAR:-}
  if [ -z "$jar" ] && [[ $master == k8s://* && $mode == cluster ]]; then
    jar=local://$SPARKGPT_IMAGE_HOME/sparkgpt-spark-submit.jar
  fi
  jar=${jar:-$(ls "$root"/target/sparkgpt-*-spark-submit.jar 2>/dev/null | head -1)}
  # a URI (local://, hdfs://, s3a://, https://) is read by Spark on the cluster; a plain path must exist here
  if [[ ! $jar =~ ^[a-zA-Z][a-zA-Z0-9+.-]*:// ]] && { [ -z "$jar" ] || [ ! -f "$jar" ]; }; then
    echo "error: no uber-jar${jar:+ at $jar}. Fix: mvn -Pspark-submit -DskipTests package (or set SPARKGPT_JAR)" >&2
    return 2
  fi
  local offheap=${SPARKGPT_OFFHEAP%[gG]} driver_gb=${DRIVER_MEMORY_GB:-4} executor_gb=${EXECUTOR_MEMORY_GB:-4}
  local limits="-Dorg.bytedeco.javacpp.maxbytes=${offheap}G -Dorg.bytedeco.javacpp.maxphysicalbytes"
  local driver_opts="$SPARKGPT_ADD_OPENS $limits=$(( offheap + driver_gb + 2 ))G"
  local executor_opts="$SPARKGPT_ADD_OPENS $limits=$(( offheap + executor_gb + 2 ))G"
  # a container holds heap + off-heap + ~2 GB of native code and threads: the maxphysicalbytes above
  local overhead=$(( offheap + 2 ))
  local extra=()
  # log4j2: the driver here reads the checkout's file; YARN ships it (--files) into every container's directory;
  # the Kubernetes image carries it; standalone executors keep their Worker's logging.
  local driver_log4j="file:$root/conf/$SPARKGPT_LOG4J" executor_log4j=""
  case "$master" in
    k8s://*) executor_log4j="file:$SPARKGPT_IMAGE_HOME/conf/$SPARKGPT_LOG4J"
             [ "$mode" = cluster ] && driver_log4j=$executor_log4j ;;
    yarn*)   extra+=(--files "$root/conf/$SPARKGPT_LOG4J"); executor_log4j=$SPARKGPT_LOG4J
             [ "$mode" = cluster ] && driver_log4j=$SPARKGPT_LOG4J ;;
  esac
  driver_opts+=" -Dlog4j2.configurationFile=$driver_log4j"
  [ -n "$executor_log4j" ] && executor_opts+=" -Dlog4j2.configurationFile=$executor_log4j"
  # OpenBLAS kernel (bin/jvm-opts.sh): executors, and a driver that runs on the cluster (YARN AM, Kubernetes pod)
  if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    extra+=(--conf "spark.executorEnv.OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
            --conf "spark.yarn.appMasterEnv.OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
            --conf "spark.kubernetes.driverEnv.OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE")
  fi
  [ -n "${SPARKGPT_S3A:-}" ] && extra+=(--packages "$SPARKGPT_S3A_PACKAGE")
  if [ -n "${S3A_ENDPOINT:-}" ]; then
    extra+=(--conf "spark.hadoop.fs.s3a.endpoint=$S3A_ENDPOINT" --conf spark.hadoop.fs.s3a.path.style.access=true)
  fi
  # shellcheck disable=SC2086  # SPARK_SUBMIT_EXTRA is a list of options
  "${SPARK_SUBMIT:-spark-submit}" \
    --master "$master" \
    --deploy-mode "$mode" \
    --class "$class" \
    --conf "spark.driver.extraJavaOptions=$driver_opts" \
    --conf "spark.executor.extraJavaOptions=$executor_opts" \
    --conf spark.executorEnv.OMP_NUM_THREADS="${EXECUTOR_THREADS:-1}" \
    --conf spark.serializer=org.apache.spark.serializer.KryoSerializer \
    --conf spark.kryo.registrator=dev.sparkgpt.io.KryoSetup \
    --conf spark.driver.memory="${driver_gb}g" \
    --conf spark.driver.memoryOverhead="${overhead}g" \
    --conf spark.executor.memory="${executor_gb}g" \
    --conf spark.executor.memoryOverhead="${overhead}g" \
    --conf spark.sql.parquet.compression.codec=zstd \
    "${extra[@]}" \
    ${SPARK_SUBMIT_EXTRA:-} \
    "$jar" "$@"
}
