"""Imports every DAG file of a folder with the stand-in airflow, renders each task as Airflow would, prints JSON.

usage: extract_dags.py DAG_FOLDER [--conf JSON] [--xcom TASK_ID=JSON ...] [--call DAG_ID.TASK_ID]
Rendering follows Airflow's: the fields in template_fields only (each must name an attribute), with jinja2 and
StrictUndefined, `params` = the DAG's param defaults overridden by --conf (each checked against its schema, as a
trigger is) and `ti.xcom_pull(task_ids=...)` answered from --xcom. A '{{' in a field Airflow does not render is an
error: it would reach spark-submit or the callable as literal text. --call runs one Python task's callable with its
rendered arguments (and `ti`, if it takes it) and prints what it returned or raised.
"""
import argparse
import importlib.util
import inspect
import json
import os
import sys

import jinja2

import airflow
from airflow._fake import DAGS, PokeReturnValue

ENV = jinja2.Environment(undefined=jinja2.StrictUndefined)
SKIP = {"dag", "upstream", "python_callable", "outlets"}


class TaskInstance:
    def __init__(self, xcom):
        self.xcom = xcom

    def xcom_pull(self, task_ids):
        return self.xcom.get(task_ids)  # None, as Airflow answers for a task that pushed nothing


def render(value, context):
    if isinstance(value, str):
        return ENV.from_string(value).render(**context) if "{{" in value else value
    if isinstance(value, (list, tuple)):
        return type(value)(render(v, context) for v in value)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    return value


def templates_in(value):
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, (list, tuple)):
        return any(templates_in(v) for v in value)
    if isinstance(value, dict):
        return any(templates_in(v) for v in value.values())
    return False


def rendered_task(task, context):
    """The task's template fields rendered; refuses what Airflow would render wrongly or not at all."""
    where = f"{task.dag.dag_id}.{task.task_id}"
    for field in task.template_fields:
        if not hasattr(task, field):
            raise SystemExit(f"error: {where}: template field {field!r} is no attribute of {type(task).__name__}")
    for name, value in {**vars(task), **task.kwargs}.items():
        if name not in task.template_fields and name not in SKIP and templates_in(value):
            raise SystemExit(f"error: {where}: {name!r} holds a template but Airflow does not render it: {value!r}")
    try:
        return {field: render(getattr(task, field), context) for field in task.template_fields}
    except jinja2.UndefinedError as e:
        raise SystemExit(f"error: {where}: template: {e}")


def params_of(dag, conf):
    values = {}
    for name, p in dag.params.items():
        values[name] = p.resolve(conf[name]) if name in conf else p.value
    return values


def load(folder):
    sys.path.insert(0, folder)
    dags = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(folder, name))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name[:-3]] = module
        spec.loader.exec_module(module)
    for dag in DAGS:  # Airflow 2.4+ registers every DAG made in a `with` block, assigned to a name or not
        if dag.dag_id in dags:
            raise SystemExit(f"error: dag_id {dag.dag_id!r} defined twice")
        dags[dag.dag_id] = dag
    return dags


def call(task, fields, ti):
    kwargs = dict(fields.get("op_kwargs") or {})
    if "ti" in inspect.signature(task.python_callable).parameters:
        kwargs["ti"] = ti
    try:
        result = task.python_callable(*(fields.get("op_args") or []), **kwargs)
    except Exception as e:  # what Airflow would mark the task with
        return {"error": type(e).__name__, "message": str(e)}
    if isinstance(result, PokeReturnValue):
        result = {"is_done": result.is_done, "xcom_value": result.xcom_value}
    return {"result": result}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--conf", default="{}")
    parser.add_argument("--xcom", action="append", default=[])
    parser.add_argument("--call")
    args = parser.parse_args()
    xcom = {}
    for x in args.xcom:
        k, v = x.split("=", 1)
        try:
            xcom[k] = json.loads(v)
        except json.JSONDecodeError:
            xcom[k] = v
    ti = TaskInstance(xcom)
    conf = json.loads(args.conf)
    out = []
    for dag_id, dag in sorted(load(args.folder).items()):
        context = {"params": params_of(dag, conf), "ti": ti, "run_id": "manual__2026-01-01", "ds": "2026-01-01"}
        schedule = dag.schedule
        if isinstance(schedule, list):
            schedule = ["dataset:" + d.uri for d in schedule]
        tasks = []
        for t in dag.tasks:
            fields = rendered_task(t, context)
            if args.call == f"{dag_id}.{t.task_id}":
                json.dump(call(t, fields, ti), sys.stdout)
                return
            task = {"task_id": t.task_id, "upstream": t.upstream, "outlets": [o.uri for o in t.outlets],
                    "type": type(t).__name__, "fields": fields}
            if hasattr(t, "_java_class"):
                task.update(java_class=t._java_class, conn_id=fields.get("_conn_id", t._conn_id))
            tasks.append(task)
        out.append({"dag_id": dag_id, "schedule": schedule, "max_active_runs": dag.kwargs.get("max_active_runs"),
                    "params": context["params"], "tasks": tasks})
    if args.call:
        raise SystemExit(f"error: no task {args.call}")
    json.dump(out, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main()
