from airflow import BaseOperator


class PythonSensor(BaseOperator):
    def __init__(self, *, task_id, python_callable, **kwargs):
        super().__init__(task_id, **kwargs)
        self.python_callable = python_callable
