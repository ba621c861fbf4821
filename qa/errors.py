"""The one exception family the CLI and UI turn into a single clear line (no traceback)."""


class QAError(Exception):
    """A user-facing failure: the message says what is wrong and what to do."""


class InputError(QAError):
    """A bad question or a bad file."""


class IndexMismatchError(QAError):
    """The index on disk was built with other settings, or is missing or corrupt."""


class StoreUnavailableError(QAError):
    """The index's database cannot be reached, or refused to start or to answer."""


class ModelError(QAError):
    """A model package or model file is missing, corrupt, or a backend failed."""


class GenerationError(ModelError):
    """A backend failed while answering. ``partial`` holds what had been streamed before."""

    def __init__(self, message: str, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial
