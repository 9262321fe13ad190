#!/usr/bin/env bash
# spark-submit the pretrain job: jobs/pretrain.sh --config conf/... [--set k=v]  (same arguments as 'sparkgpt pretrain')
# MASTER=spark://host:7077 | yarn | k8s://... chooses the cluster (default local[*]).
set -euo pipefail
source "$(dirname "$0")/common.sh"
sparkgpt_submit dev.sparkgpt.jobs.PretrainJob "$@"
