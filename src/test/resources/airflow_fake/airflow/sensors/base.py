from airflow._fake import BaseSensorOperator, PokeReturnValue  # noqa: F401
