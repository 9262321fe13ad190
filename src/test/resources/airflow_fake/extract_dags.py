"""Imports every DAG file of a folder with the fake airflow and prints its DAGs as JSON (stdout).

usage: extract_dags.py DAG_FOLDER [--xcom NAME=VALUE ...] [--poke RUN_DIR]
Templates {{ ti.xcom_pull(task_ids='NAME') }} in spark-submit arguments are filled from --xcom; any other template
is an error. --poke calls every PythonSensor's callable with RUN_DIR and prints what it returned.
"""
import argparse
import importlib.util
import json
import os
import re
import sys

import airflow

TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
XCOM = re.compile(r"ti\.xcom_pull\(task_ids='([^']+)'\)")


def render(text, xcom):
    def fill(match):
        pulled = XCOM.fullmatch(match.group(1))
        if not pulled or pulled.group(1) not in xcom:
            raise SystemExit(f"error: cannot render template {match.group(0)!r} (give --xcom)")
        return xcom[pulled.group(1)]
    return TEMPLATE.sub(fill, text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--xcom", action="append", default=[])
    parser.add_argument("--poke")
    args = parser.parse_args()
    xcom = dict(x.split("=", 1) for x in args.xcom)
    sys.path.insert(0, args.folder)
    dags = {}
    for name in sorted(os.listdir(args.folder)):
        if not name.endswith(".py"):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(args.folder, name))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name[:-3]] = module
        spec.loader.exec_module(module)
        for value in vars(module).values():
            if isinstance(value, airflow.DAG):
                dags[value.dag_id] = (name, value)
    out = []
    for dag_id, (file, dag) in sorted(dags.items()):
        schedule = dag.schedule
        if isinstance(schedule, list):
            schedule = ["dataset:" + d.uri for d in schedule]
        tasks = []
        for t in dag.tasks:
            task = {"task_id": t.task_id, "upstream": t.upstream, "outlets": [o.uri for o in t.outlets],
                    "type": type(t).__name__}
            if hasattr(t, "java_class"):
                task.update(java_class=t.java_class, application=t.application, conf=t.conf, conn_id=t.conn_id,
                            application_args=[render(a, xcom) for a in t.application_args])
            if args.poke and hasattr(t, "python_callable"):
                r = t.python_callable(args.poke)
                task["poke"] = {"is_done": r.is_done, "xcom_value": r.xcom_value}
            tasks.append(task)
        out.append({"dag_id": dag_id, "file": file, "schedule": schedule, "tasks": tasks})
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
