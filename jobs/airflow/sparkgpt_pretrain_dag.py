"""SparkGPT pretraining, an Airflow template: tokenize -> pretrain -> eval -> eval_metrics -> quality_gate.

Trigger it with a conf to choose the run, e.g.
  {"run": "web", "runs": "s3a://bucket/runs", "corpus": "s3a://bucket/corpora/*.jsonl.gz", "steps": 20000,
   "cluster": "spark_emr"}
(the defaults train the bundled The Verdict for 90 steps on SPARK_CONN_ID). Every task is the CLI verb's job class
under spark-submit and is idempotent: tokenize does nothing when its output is complete, pretrain resumes from its
latest checkpoint after a failure (Airflow's retry), eval rewrites its report. eval_metrics pushes report.json's
headline numbers to XCom; quality_gate fails the run when they miss the thresholds. One run at a time: two runs of
the same run name would write the same checkpoints.
"""
import datetime

from sparkgpt_common import (DAG, PRETRAIN_RUNS, Param, RUN_DIR, common_params, conf_file, data_file, eval_and_gate,
                             sparkgpt_task)

SHARDS = f"{RUN_DIR}/shards"
PRETRAIN = f"{RUN_DIR}/pretrain"

with DAG(
    dag_id="sparkgpt_pretrain",
    start_date=datetime.datetime(2026, 1, 1),
    schedule=None,                                # triggered by hand, by the API or by an upstream data DAG
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": datetime.timedelta(minutes=2)},
    tags=["sparkgpt"],
    params=common_params(
        corpus=Param(data_file("src/main/resources/data/corpora/the-verdict.txt"), type="string", minLength=1,
                     description="Corpus: files, directories or globs on the cluster's file system"),
        tokenize_config=Param(conf_file("tokenize/the-verdict.yaml"), type="string",
                              description="tokenize YAML, a path on the driver's disk"),
        pretrain_config=Param(conf_file("pretrain/verdict.yaml"), type="string",
                              description="pretrain YAML, a path on the driver's disk"),
        steps=Param(90, type="integer", minimum=1, description="train.max_steps"),
        save_interval=Param(45, type="integer", minimum=1, description="a checkpoint every N steps"),
    ),
) as dag:
    tokenize = sparkgpt_task("tokenize", "TokenizeJob", [
        "--config", "{{ params.tokenize_config }}",
        "--input", "{{ params.corpus }}", "--output", SHARDS, "--set", "seq_len=256",
    ])
    pretrain = sparkgpt_task("pretrain", "PretrainJob", [
        "--config", "{{ params.pretrain_config }}", "--out-dir", PRETRAIN, "--resume", "auto",
        "--set", f"data.shards={SHARDS}", "--set", "data.text=null",
        "--set", "train.max_steps={{ params.steps }}", "--set", "train.save_interval={{ params.save_interval }}",
    ], outlets=[PRETRAIN_RUNS])
    evaluate, gate = eval_and_gate(PRETRAIN, f"{PRETRAIN}/eval/report.json", [
        "--config", conf_file("eval/smoke.yaml"),
        "--tasks", ",".join(data_file(f"src/main/resources/data/eval/{t}.jsonl") for t in ("copa", "hellaswag_small")),
        "--perplexity", SHARDS,
    ])
    tokenize >> pretrain >> evaluate
