#!/usr/bin/env bash
# spark-submit the finetune job: jobs/finetune.sh classify --config conf/finetune/spam.yaml [--set k=v]
# (same arguments as 'sparkgpt finetune'). MASTER=spark://host:7077 | yarn | k8s://... chooses the cluster.
set -euo pipefail
source "$(dirname "$0")/common.sh"
sparkgpt_submit dev.sparkgpt.jobs.FinetuneJob "$@"
