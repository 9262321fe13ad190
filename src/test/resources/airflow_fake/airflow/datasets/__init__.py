class Dataset:
    def __init__(self, uri):
        self.uri = uri
