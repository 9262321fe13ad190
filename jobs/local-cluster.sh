#!/usr/bin/env bash
# A real Spark standalone cluster on this machine, from the Maven-resolved Spark jars (no Spark download):
# one Master and N Workers as separate JVMs. Used by the cluster integration test and for trying spark-submit.
#
#   jobs/local-cluster.sh start [WORKERS=2] [CORES_PER_WORKER=1]   -> prints the master URL
#   jobs/local-cluster.sh submit CLASS ARGS...                     -> spark-submit of the uber-jar (DRIVER_MEMORY=4g)
#   jobs/local-cluster.sh stop
#   jobs/local-cluster.sh kill-worker N                            -> kill -9 one Worker (failure tests)
#
# State lives in target/local-cluster/ (pids, logs, a SPARK_HOME whose jars/ links the Maven jars).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/bin/jvm-opts.sh"
state="$root/target/local-cluster"
home="$state/spark-home"
port=${SPARK_MASTER_PORT:-7077}
master="spark://127.0.0.1:$port"
export SPARK_HOME="$home" SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$state/logs"

prepare_home() {
  if [ ! -f "$root/target/classpath-all.txt" ] || [ "$root/pom.xml" -nt "$root/target/classpath-all.txt" ]; then
    mvn -q -B -f "$root/pom.xml" dependency:build-classpath -Dmdep.outputFile="$root/target/classpath-all.txt" \
      -Dmdep.includeScope=runtime >&2
  fi
  rm -rf "$home"; mkdir -p "$home/jars" "$home/conf" "$state/logs" "$state/work"
  # A Spark distribution's jars/: everything Spark brings, nothing of SparkGPT's own dependencies (those travel
  # in the uber-jar, so a class missing from it fails here as it would on a real cluster).
  tr ':' '\n' < "$root/target/classpath-all.txt" \
    | grep -vE '/(org/nd4j|org/bytedeco|com/knuddels|info/picocli|me/tongfei|org/knowm|org/jline|de/erichseifert|com/madgag|org/apache/pdfbox|com/github/jai-imageio)/' \
    | while read -r jar; do ln -sf "$jar" "$home/jars/$(basename "$jar")"; done
  cp "$root/src/main/resources/log4j2.properties" "$home/conf/log4j2.properties"
  printf 'logger.deploy.name = org.apache.spark.deploy\nlogger.deploy.level = info\n' >> "$home/conf/log4j2.properties"
}

# exec: a backgrounded call's $! is then the JVM itself, so kill-worker hits the real process
java_cmd() { exec java $SPARKGPT_ADD_OPENS -Xmx${JVM_HEAP:-512m} -cp "$home/conf:$home/jars/*" "$@"; }

case "${1:-}" in
  start)
    workers=${2:-2}; cores=${3:-1}
    prepare_home
    java_cmd org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" --webui-port 0 \
      > "$state/logs/master.log" 2>&1 & echo $! > "$state/master.pid"
    for _ in $(seq 1 60); do grep -q "I have been elected leader" "$state/logs/master.log" 2>/dev/null && break; sleep 0.5; done
    for i in $(seq 1 "$workers"); do
      java_cmd org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores "$cores" --memory 4g --webui-port 0 \
        --work-dir "$state/work/worker-$i" "$master" > "$state/logs/worker-$i.log" 2>&1 & echo $! > "$state/worker-$i.pid"
    done
    for i in $(seq 1 "$workers"); do
      for _ in $(seq 1 60); do grep -q "Successfully registered with master" "$state/logs/worker-$i.log" 2>/dev/null && break; sleep 0.5; done
    done
    echo "$master"
    ;;
  submit)
    shift
    jar=$(ls "$root"/target/sparkgpt-*-spark-submit.jar 2>/dev/null | head -1)
    [ -n "$jar" ] || { echo "error: no uber-jar. Fix: mvn -Pspark-submit -DskipTests package" >&2; exit 2; }
    export SPARK_SUBMIT="java_submit" MASTER="$master" SPARKGPT_JAR="$jar" EXECUTOR_MEMORY_GB=${EXECUTOR_MEMORY_GB:-2}
    # the driver (client mode) holds the model and sums the workers' states: DRIVER_MEMORY (default 4g)
    java_submit() { (JVM_HEAP=${DRIVER_MEMORY:-4g} java_cmd org.apache.spark.deploy.SparkSubmit "$@"); }
    source "$root/jobs/common.sh"
    class=$1; shift
    SPARK_SUBMIT_EXTRA="--conf spark.task.maxFailures=4 ${SPARK_SUBMIT_EXTRA:-}" sparkgpt_submit "$class" "$@"
    ;;
  kill-worker)
    # kill -9 the Worker JVM and the executor JVMs it launched: a machine lost mid-round
    pid=$(cat "$state/worker-${2:-1}.pid")
    pkill -9 -P "$pid" 2>/dev/null || true
    kill -9 "$pid" ;;
  stop)
    for f in "$state"/*.pid; do [ -f "$f" ] && { kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; }; done ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
