from airflow._fake import Dataset  # noqa: F401
