"""The one exception users can cause, and how stages report it."""

from __future__ import annotations

from pathlib import Path


class TreaderError(Exception):
    """An error in the user's input or configuration.

    The message names the file and, where there is one, the line or record, so
    that a stage can print it alone (no traceback) and exit with code 2.
    """


class DataError(TreaderError):
    """Bad input data: a malformed record, a checksum mismatch, an empty split."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = str(path)
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = None if path is None else str(path)
        self.line = line


class ConfigError(TreaderError, ValueError):
    """A parameter with a value the code cannot use (an unknown reading, a bad learning rate, ...).

    Also a ValueError, so library callers can catch it as one.
    """
