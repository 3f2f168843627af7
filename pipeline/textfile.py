"""Reading users' text files: one record per line, as a plain text or as JSON lines.

One reader serves every place that takes such a file (a folder dataset's files,
`embed.extra_text`, `treader predict --file/--jsonl`), so they agree on what a line is
and report a bad one the same way (``path, line N: ...``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import DataError


def read_lines(path: str | Path) -> list[str]:
    """The file's lines, without their line ends.

    Split on newlines only: ``str.splitlines`` (and Python's universal-newline reading) would also
    split on a lone ``\\r``, form feeds, U+2028 and other characters that raw texts hold, and break
    a one-record-per-line file apart. A ``\\r`` before a newline is dropped (Windows line ends).
    A file that is not UTF-8 is reported with the line of its first bad byte.
    """
    data = Path(path).read_bytes()
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path, line) from exc
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_json_lines(path: str | Path) -> Iterator[tuple[int, object]]:
    """``(line number, parsed value)`` for every line of a JSON-lines file that is not blank."""
    for n, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"malformed JSON ({exc.msg} at column {exc.colno})", path, n) from exc
