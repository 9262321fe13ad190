"""Fake airflow: DAG as a context manager that collects the operators created inside it."""
_current = []


class DAG:
    def __init__(self, dag_id, schedule=None, **kwargs):
        self.dag_id = dag_id
        self.schedule = schedule
        self.kwargs = kwargs
        self.tasks = []

    def __enter__(self):
        _current.append(self)
        return self

    def __exit__(self, *exc):
        _current.pop()
        return False


class BaseOperator:
    def __init__(self, task_id, outlets=None, **kwargs):
        if not _current:
            raise RuntimeError(f"operator {task_id} created outside a DAG")
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
