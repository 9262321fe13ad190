#!/usr/bin/env bash
# spark-submit the eval job: jobs/eval.sh --config conf/eval/benchmarks.yaml --checkpoint hdfs:///runs/x [--set k=v]
# MASTER=spark://host:7077 | yarn | k8s://... chooses the cluster (default local[*]).
set -euo pipefail
source "$(dirname "$0")/common.sh"
sparkgpt_submit dev.sparkgpt.jobs.EvalJob "$@"
