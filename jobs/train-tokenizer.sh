#!/usr/bin/env bash
# spark-submit the train-tokenizer job: jobs/train-tokenizer.sh --config conf/... [--set k=v]  (same arguments as 'sparkgpt train-tokenizer')
# MASTER=spark://host:7077 | yarn | k8s://... chooses the cluster (default local[*]).
set -euo pipefail
source "$(dirname "$0")/common.sh"
sparkgpt_submit dev.sparkgpt.jobs.TrainTokenizerJob "$@"
