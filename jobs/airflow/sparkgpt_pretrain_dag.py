"""SparkGPT pretraining: preprocess (tokenize) -> pretrain -> eval of every kept checkpoint, then an eval of the last.

Every task is the CLI verb's job class under spark-submit (sparkgpt_common.sparkgpt_task); each is idempotent:
tokenize does nothing when its output is complete, pretrain resumes from its latest checkpoint after a failure
(Airflow's retry), eval rewrites its report. The corpus and run name are the two knobs below.
"""
import datetime

from airflow import DAG
from airflow.datasets import Dataset

from sparkgpt_common import RUNS, home, sparkgpt_task

RUN = "verdict"                                   # runs/<RUN>/shards, runs/<RUN>/pretrain
CORPUS = home("src/main/resources/data/corpora/the-verdict.txt")  # your corpus: files, dirs, globs, hdfs:/s3a:
MAX_STEPS = 90
SAVE_INTERVAL = 45                                # a checkpoint every 45 steps: step-000045, step-000090
CHECKPOINT_STEPS = list(range(SAVE_INTERVAL, MAX_STEPS + 1, SAVE_INTERVAL))

SHARDS = f"{RUNS}/{RUN}/shards"
PRETRAIN = f"{RUNS}/{RUN}/pretrain"
# The eval DAG (sparkgpt_eval_dag.py) is scheduled on this: a pretrain run that finished means new checkpoints.
CHECKPOINTS = Dataset(PRETRAIN)

with DAG(
    dag_id="sparkgpt_pretrain",
    start_date=datetime.datetime(2026, 1, 1),
    schedule=None,                                # triggered by hand or by an upstream data DAG
    catchup=False,
    default_args={"retries": 2, "retry_delay": datetime.timedelta(minutes=2)},
    tags=["sparkgpt"],
) as dag:
    tokenize = sparkgpt_task("tokenize", "TokenizeJob", [
        "--config", home("conf/tokenize/the-verdict.yaml"),
        "--input", CORPUS, "--output", SHARDS, "--set", "seq_len=256",
    ])
    pretrain = sparkgpt_task("pretrain", "PretrainJob", [
        "--config", home("conf/pretrain/verdict.yaml"), "--out-dir", PRETRAIN, "--resume", "auto",
        "--set", f"data.shards={SHARDS}", "--set", "data.text=null",
        "--set", f"train.max_steps={MAX_STEPS}", "--set", f"train.save_interval={SAVE_INTERVAL}",
        "--set", f"train.keep_last={len(CHECKPOINT_STEPS)}",   # keep every checkpoint the evals below read
    ], outlets=[CHECKPOINTS])
    evals = [
        sparkgpt_task(f"eval_step_{step:06d}", "EvalJob", [
            "--config", home("conf/eval/smoke.yaml"),
            "--checkpoint", f"{PRETRAIN}/step-{step:06d}",
            "--tasks", ",".join(home(f"src/main/resources/data/eval/{t}.jsonl") for t in ("copa", "hellaswag_small")),
            "--perplexity", SHARDS,
            "--out", f"{PRETRAIN}/eval/step-{step:06d}.json",  # `sparkgpt report` charts accuracy per step
        ])
        for step in CHECKPOINT_STEPS
    ]
    tokenize >> pretrain >> evals
