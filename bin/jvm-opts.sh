# Sourced by bin/sparkgpt, bench/run and jobs/*.sh: the JVM options Spark and ND4J need on Java 17, written once.
# Sets SPARKGPT_JVM_OPTS (driver/local JVM) and SPARKGPT_OPENBLAS_NOTE; exports OPENBLAS_CORETYPE and OMP_NUM_THREADS.
SPARKGPT_ADD_OPENS="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
--add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
--add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED \
--add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED \
--add-exports=java.base/sun.nio.ch=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false"

# OpenBLAS 0.3.19 does not know Zen 5 and falls back to slow kernels: respect a user's choice, else pick from CPU flags.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  if [[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512vl* ]]; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif [[ $flags == *avx2* ]]; then
    export OPENBLAS_CORETYPE=Haswell
  fi
  SPARKGPT_OPENBLAS_NOTE="OpenBLAS kernel ${OPENBLAS_CORETYPE:-auto} (chosen from CPU flags; set OPENBLAS_CORETYPE to override)"
else
  SPARKGPT_OPENBLAS_NOTE="OpenBLAS kernel ${OPENBLAS_CORETYPE:-auto} (from environment)"
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc 2>/dev/null || echo 2)}

# Heap and ND4J off-heap must fit the machine together; override with SPARKGPT_HEAP / SPARKGPT_OFFHEAP.
SPARKGPT_HEAP=${SPARKGPT_HEAP:-4g}
SPARKGPT_OFFHEAP=${SPARKGPT_OFFHEAP:-8G}
SPARKGPT_JVM_OPTS="$SPARKGPT_ADD_OPENS -Xmx$SPARKGPT_HEAP -Dorg.bytedeco.javacpp.maxbytes=$SPARKGPT_OFFHEAP \
-Dorg.bytedeco.javacpp.maxphysicalbytes=$(( ${SPARKGPT_OFFHEAP%G} + ${SPARKGPT_HEAP%g} + 2 ))G ${SPARKGPT_JAVA_OPTS:-}"
