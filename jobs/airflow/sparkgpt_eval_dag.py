"""SparkGPT scheduled eval: every hour, wait for a checkpoint that has no eval report yet, then evaluate it.

A checkpoint is complete when the run's `latest` file names it (CheckpointStore writes `latest` only after the
step directory is in place), so the sensor reads `latest` and looks for eval/<step>.json. It also runs when the
pretrain DAG updates the run (Airflow Dataset), so a finished run is evaluated at once.
The sensor reads a local or mounted path (SPARKGPT_RUNS on a shared file system); for hdfs:// runs, swap it for
the HDFS provider's sensor on the same files.
"""
import datetime
import os

from airflow import DAG
from airflow.sensors.base import PokeReturnValue
from airflow.sensors.python import PythonSensor

from sparkgpt_common import home, sparkgpt_task
from sparkgpt_pretrain_dag import CHECKPOINTS, PRETRAIN, SHARDS


def new_checkpoint(run_dir=PRETRAIN):
    """The step directory `latest` names when it has no eval report yet (XCom: its name), else not done."""
    try:
        with open(os.path.join(run_dir, "latest"), encoding="utf-8") as f:
            step = f.read().strip()
    except FileNotFoundError:
        return PokeReturnValue(is_done=False)
    done = os.path.exists(os.path.join(run_dir, "eval", step + ".json"))
    return PokeReturnValue(is_done=not done, xcom_value=step)


def eval_dag(dag_id, schedule):
    """A DAG that waits for a checkpoint without a report and evaluates it."""
    with DAG(dag_id=dag_id, start_date=datetime.datetime(2026, 1, 1), schedule=schedule, catchup=False,
             max_active_runs=1, tags=["sparkgpt"]) as dag:
        wait = PythonSensor(task_id="wait_for_checkpoint", python_callable=new_checkpoint, mode="reschedule",
                            poke_interval=300, timeout=3600, soft_fail=True)
        step = "{{ ti.xcom_pull(task_ids='wait_for_checkpoint') }}"
        evaluate = sparkgpt_task("eval_latest", "EvalJob", [
            "--config", home("conf/eval/smoke.yaml"),
            "--checkpoint", f"{PRETRAIN}/{step}",
            "--perplexity", SHARDS,
            "--out", f"{PRETRAIN}/eval/{step}.json",
        ])
        wait >> evaluate
    return dag


# whenever the pretrain DAG's pretrain task finishes (Airflow Dataset), and every hour for a long run's checkpoints
on_new_checkpoints = eval_dag("sparkgpt_eval_on_pretrain", [CHECKPOINTS])
hourly = eval_dag("sparkgpt_eval_hourly", "@hourly")
