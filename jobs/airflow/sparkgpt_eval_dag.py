"""SparkGPT scheduled eval, an Airflow template: every hour, wait for a checkpoint of the run that has no eval
report yet, evaluate it, push its headline metrics to XCom and gate on them.

A checkpoint is complete when the run's `latest` file names it (CheckpointStore writes `latest` only after the step
directory is in place), so the sensor reads `latest` and looks for eval/<step>.json. It reads them on the run's own
file system (hdfs://, s3a://, gs://, file:) through RunProbe (sparkgpt_common.read_run_files). It also runs when a
pretrain DAG run finishes (Airflow Dataset/Asset on the runs root), so a finished run is evaluated at once.
"""
import datetime

from sparkgpt_common import (DAG, PRETRAIN_RUNS, Param, PythonSensor, RUN_DIR, common_params, conf_file, data_file,
                             eval_and_gate, new_checkpoint)

PRETRAIN = f"{RUN_DIR}/pretrain"


def eval_dag(dag_id, schedule):
    """A DAG that waits for a checkpoint without a report, evaluates it and gates on the result."""
    with DAG(dag_id=dag_id, start_date=datetime.datetime(2026, 1, 1), schedule=schedule, catchup=False,
             max_active_runs=1, tags=["sparkgpt"], params=common_params(
                 eval_config=Param(conf_file("eval/smoke.yaml"), type="string",
                                   description="eval YAML, a path on the driver's disk"),
                 tasks=Param(",".join(data_file(f"src/main/resources/data/eval/{t}.jsonl")
                                      for t in ("copa", "hellaswag_small")), type="string", minLength=1,
                             description="eval task files, comma-separated Hadoop paths"),
                 perplexity=Param("", type="string",
                                  description="what to score perplexity on (empty: the run's shards)"))) as dag:
        wait = PythonSensor(task_id="wait_for_checkpoint", python_callable=new_checkpoint,
                            op_kwargs={"run_dir": PRETRAIN}, mode="reschedule", poke_interval=300, timeout=3600,
                            soft_fail=True)
        step = "{{ ti.xcom_pull(task_ids='wait_for_checkpoint') }}"
        evaluate, _ = eval_and_gate(f"{PRETRAIN}/{step}", f"{PRETRAIN}/eval/{step}.json", [
            "--config", "{{ params.eval_config }}", "--tasks", "{{ params.tasks }}",
            "--perplexity", "{{ params.perplexity or params.runs ~ '/' ~ params.run ~ '/shards' }}",
        ])
        wait >> evaluate
    return dag


# whenever a pretrain DAG run finishes (Dataset/Asset), and every hour for a long run's checkpoints
on_new_checkpoints = eval_dag("sparkgpt_eval_on_pretrain", [PRETRAIN_RUNS])
hourly = eval_dag("sparkgpt_eval_hourly", "@hourly")
