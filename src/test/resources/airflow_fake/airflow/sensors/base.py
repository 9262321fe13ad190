class PokeReturnValue:
    def __init__(self, is_done, xcom_value=None):
        self.is_done = is_done
        self.xcom_value = xcom_value
