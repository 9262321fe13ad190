"""The stand-in's classes, shared by its 2.x and 3.x module layouts. Each refuses what real Airflow refuses when it
parses a DAG file: unknown DAG or operator arguments, a bad task_id, a Param default its own schema rejects (Airflow
validates params with jsonschema too), an unknown sensor mode, a reserved or empty Dataset URI. extract_dags.py adds
the checks Airflow makes when it renders a task: template_fields that name no attribute, undefined template
variables (Airflow renders with StrictUndefined), and templates in fields Airflow never renders."""
import re
import urllib.parse

import jsonschema

_current = []
DAGS = []

# DAG arguments valid on both Airflow 2.9+ and 3.x (schedule_interval, timetable, concurrency, sla_miss_callback
# and default_view are gone in 3.x, so a DAG using them is refused here)
DAG_ARGS = {"dag_id", "description", "schedule", "start_date", "end_date", "template_searchpath",
            "template_undefined", "user_defined_macros", "user_defined_filters", "default_args", "max_active_tasks",
            "max_active_runs", "max_consecutive_failed_dag_runs", "dagrun_timeout", "catchup", "on_success_callback",
            "on_failure_callback", "doc_md", "params", "access_control", "is_paused_upon_creation",
            "jinja_environment_kwargs", "render_template_as_native_obj", "tags", "owner_links", "auto_register",
            "dag_display_name"}
# BaseOperator arguments valid on both (sla and task_concurrency are gone in 3.x)
OPERATOR_ARGS = {"task_id", "owner", "email", "email_on_retry", "email_on_failure", "retries", "retry_delay",
                 "retry_exponential_backoff", "max_retry_delay", "start_date", "end_date", "depends_on_past",
                 "ignore_first_depends_on_past", "wait_for_past_depends_before_skipping", "wait_for_downstream",
                 "dag", "params", "default_args", "priority_weight", "weight_rule", "queue", "pool", "pool_slots",
                 "execution_timeout", "on_execute_callback", "on_failure_callback", "on_success_callback",
                 "on_retry_callback", "on_skipped_callback", "pre_execute", "post_execute", "trigger_rule",
                 "resources", "run_as_user", "max_active_tis_per_dag", "max_active_tis_per_dagrun",
                 "executor_config", "do_xcom_push", "multiple_outputs", "inlets", "outlets", "task_group", "doc",
                 "doc_md", "doc_json", "doc_yaml", "doc_rst", "task_display_name", "logger_name", "executor",
                 "map_index_template", "allow_nested_operators"}
TASK_ID = re.compile(r"^[\w.-]{1,250}$")


class Dataset:
    """airflow.datasets.Dataset (2.x) / airflow.sdk.Asset (3.x): a URI Airflow normalises and partly refuses."""

    def __init__(self, uri, extra=None):
        if not uri or uri.isspace() or not uri.isascii():
            raise ValueError(f"Dataset URI {uri!r} must be non-empty ASCII")
        parsed = urllib.parse.urlsplit(uri)
        if parsed.scheme.lower() == "airflow":
            raise ValueError("Dataset scheme 'airflow' is reserved")
        if parsed.scheme:
            uri = urllib.parse.urlunsplit(parsed._replace(path=parsed.path.rstrip("/") or "/", fragment=""))
        self.uri = uri
        self.extra = extra or {}


class Param:
    """airflow.models.param.Param / airflow.sdk.Param: a default and the JSON schema it must satisfy."""

    def __init__(self, default=None, description=None, **schema):
        self.value = default
        self.description = description
        self.schema = schema

    def resolve(self, value):
        jsonschema.validate(value, self.schema, format_checker=jsonschema.FormatChecker())
        return value


class PokeReturnValue:
    def __init__(self, is_done, xcom_value=None):
        self.is_done = is_done
        self.xcom_value = xcom_value


class DAG:
    def __init__(self, dag_id, **kwargs):
        unknown = set(kwargs) - DAG_ARGS
        if unknown:
            raise TypeError(f"DAG {dag_id}: arguments Airflow 2.x/3.x do not both take: {sorted(unknown)}")
        if not TASK_ID.match(dag_id):
            raise ValueError(f"invalid dag_id {dag_id!r}")
        self.dag_id = dag_id
        self.schedule = kwargs.get("schedule")
        self.kwargs = kwargs
        self.params = {}
        for name, p in (kwargs.get("params") or {}).items():
            p = p if isinstance(p, Param) else Param(p)
            try:
                p.resolve(p.value)
            except jsonschema.ValidationError as e:
                raise ValueError(f"DAG {dag_id}: param {name!r}: default {p.value!r} is invalid: {e.message}")
            self.params[name] = p
        self.tasks = []
        DAGS.append(self)

    def __enter__(self):
        _current.append(self)
        return self

    def __exit__(self, *exc):
        _current.pop()
        return False


class BaseOperator:
    template_fields = ()

    def __init__(self, task_id, outlets=None, **kwargs):
        unknown = set(kwargs) - OPERATOR_ARGS
        if unknown:
            raise TypeError(f"Invalid arguments were passed to {type(self).__name__} ({task_id}): {sorted(unknown)}")
        if not _current:
            raise RuntimeError(f"operator {task_id} created outside a DAG")
        if not TASK_ID.match(task_id):
            raise ValueError(f"invalid task_id {task_id!r}")
        self.task_id = task_id
        self.outlets = list(outlets or [])
        self.kwargs = kwargs
        self.upstream = []
        self.dag = _current[-1]
        if any(t.task_id == task_id for t in self.dag.tasks):
            raise ValueError(f"duplicate task_id {task_id} in {self.dag.dag_id}")
        self.dag.tasks.append(self)

    def __rshift__(self, other):
        for o in other if isinstance(other, (list, tuple)) else [other]:
            o.upstream.append(self.task_id)
        return other

    def __rrshift__(self, other):
        for o in other if isinstance(other, (list, tuple)) else [other]:
            self.upstream.append(o.task_id)
        return self


class PythonOperator(BaseOperator):
    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(self, *, python_callable, op_args=None, op_kwargs=None, templates_dict=None, templates_exts=None,
                 show_return_value_in_logs=True, **kwargs):
        super().__init__(**kwargs)
        if not callable(python_callable):
            raise TypeError("`python_callable` param must be callable")
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict
        self.templates_exts = templates_exts
        self.show_return_value_in_logs = show_return_value_in_logs


class BaseSensorOperator(BaseOperator):
    def __init__(self, *, poke_interval=60, timeout=604800, soft_fail=False, mode="poke", exponential_backoff=False,
                 max_wait=None, silent_fail=False, never_fail=False, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("poke", "reschedule"):
            raise ValueError(f"The mode must be one of ('poke', 'reschedule'), '{kwargs['task_id']}' has '{mode}'")
        if soft_fail and never_fail:
            raise ValueError("soft_fail and never_fail cannot both be set")
        self.poke_interval, self.timeout, self.soft_fail, self.mode = poke_interval, timeout, soft_fail, mode


class PythonSensor(BaseSensorOperator):
    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(self, *, python_callable, op_args=None, op_kwargs=None, templates_dict=None, **kwargs):
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict
