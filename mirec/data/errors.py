"""Errors raised for bad input data."""


class DataFormatError(ValueError):
    """Bad input: names the file, the line (1-based, when known) and what was expected."""

    def __init__(self, path, line, expected, got=None):
        self.path = str(path)
        self.line = line
        self.expected = expected
        self.got = got
        where = f"{self.path}, line {line}" if line is not None else self.path
        msg = f"{where}: expected {expected}"
        if got is not None:
            msg += f", got {got!r}"
        super().__init__(msg)


class DatasetNotAvailableError(FileNotFoundError):
    """A dataset's files are absent and cannot be downloaded (offline or behind a login)."""
