class AirflowException(Exception):
    pass


class AirflowFailException(AirflowException):
    """Fails the task without retrying it."""
