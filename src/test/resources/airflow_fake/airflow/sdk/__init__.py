from airflow._fake import DAG, Dataset as Asset, Param  # noqa: F401
