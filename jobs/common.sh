# Sourced by the jobs/*.sh spark-submit scripts: the --conf every SparkGPT job needs, written once.
# Usage in a script: source jobs/common.sh; sparkgpt_submit dev.sparkgpt.jobs.XJob "$@"
# Set SPARK_SUBMIT (default: spark-submit on PATH), MASTER (default local[*]) and SPARKGPT_JAR as needed.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
source "$root/bin/jvm-opts.sh"
SPARKGPT_JAR=${SPARKGPT_JAR:-$(ls "$root"/target/sparkgpt-*-spark-submit.jar 2>/dev/null | head -1)}

sparkgpt_submit() {
  local class=$1; shift
  if [ -z "$SPARKGPT_JAR" ] || [ ! -f "$SPARKGPT_JAR" ]; then
    echo "error: no uber-jar. Fix: mvn -Pspark-submit -DskipTests package (or set SPARKGPT_JAR)" >&2
    return 2
  fi
  local java_opts="$SPARKGPT_ADD_OPENS -Dorg.bytedeco.javacpp.maxbytes=${SPARKGPT_OFFHEAP} \
-Dorg.bytedeco.javacpp.maxphysicalbytes=$(( ${SPARKGPT_OFFHEAP%G} + ${EXECUTOR_MEMORY_GB:-4} + 2 ))G"
  "${SPARK_SUBMIT:-spark-submit}" \
    --master "${MASTER:-local[*]}" \
    --class "$class" \
    --conf "spark.driver.extraJavaOptions=$java_opts" \
    --conf "spark.executor.extraJavaOptions=$java_opts" \
    --conf spark.executorEnv.OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-}" \
    --conf spark.executorEnv.OMP_NUM_THREADS="${EXECUTOR_THREADS:-1}" \
    --conf spark.serializer=org.apache.spark.serializer.KryoSerializer \
    --conf spark.kryo.registrator=dev.sparkgpt.io.KryoSetup \
    --conf spark.executor.memory="${EXECUTOR_MEMORY_GB:-4}g" \
    --conf spark.executor.memoryOverhead="${SPARKGPT_OFFHEAP%G}g" \
    --conf spark.sql.parquet.compression.codec=zstd \
    ${SPARK_SUBMIT_EXTRA:-} \
    "$SPARKGPT_JAR" "$@"
}
