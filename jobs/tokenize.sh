#!/usr/bin/env bash
# spark-submit the tokenize job: jobs/tokenize.sh --input hdfs:///corpus/*.jsonl.gz --output hdfs:///shards/x [--set k=v]
# MASTER=spark://host:7077 | yarn | k8s://... chooses the cluster (default local[*]).
set -euo pipefail
source "$(dirname "$0")/common.sh"
sparkgpt_submit dev.sparkgpt.jobs.TokenizeJob "$@"
