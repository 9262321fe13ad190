"""Stand-in for Apache Airflow (none can be installed here): the names jobs/airflow/*.py import, laid out as in
Airflow 2.x or 3.x (FAKE_AIRFLOW_VERSION=2|3, default 3). Modules a version lacks, or has only as a deprecated shim,
cannot be imported, so a DAG file that leans on them fails here as it would (or soon will) there."""
import importlib.abc
import os
import sys

VERSION = os.environ.get("FAKE_AIRFLOW_VERSION", "3")
# Only in 2.x (3.x moved them to airflow.sdk / the standard provider and keeps at most deprecated shims)
ONLY_2 = ("airflow.datasets", "airflow.models", "airflow.sensors", "airflow.operators")
# Only in 3.x (airflow.sdk) or in the standard provider, which this stand-in's 2.x lacks to test the fallback
ONLY_3 = ("airflow.sdk", "airflow.providers.standard")


class _VersionGate(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        blocked = ONLY_3 if VERSION == "2" else ONLY_2
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ModuleNotFoundError(f"No module named {name!r} (Airflow {VERSION}.x)", name=name)
        return None


sys.meta_path.insert(0, _VersionGate())

from airflow._fake import BaseOperator, DAG as _DAG  # noqa: E402

if VERSION == "2":
    DAG = _DAG
