from airflow import BaseOperator


class SparkSubmitOperator(BaseOperator):
    """Records the spark-submit arguments (the real operator's names)."""

    def __init__(self, *, task_id, application, java_class, conf=None, application_args=None, conn_id="spark_default",
                 name=None, outlets=None, **kwargs):
        super().__init__(task_id, outlets=outlets, **kwargs)
        self.application = application
        self.java_class = java_class
        self.conf = dict(conf or {})
        self.application_args = list(application_args or [])
        self.conn_id = conn_id
        self.name = name
