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

# byte-order marks, longest first (UTF-32's little-endian mark begins with UTF-16's)
BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xef\xbb\xbf", "UTF-8"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def iter_lines(path: str | Path) -> Iterator[str]:
    """The file's lines, without their line ends, read one at a time (a large file is never held whole).

    Split on newlines only: ``str.splitlines`` (and Python's universal-newline reading) would also
    split on a lone ``\\r``, form feeds, U+2028 and other characters that raw texts hold, and break
    a one-record-per-line file apart. A ``\\r`` before a newline is dropped (Windows line ends).
    A line that is not UTF-8 is reported with its number and the file offset of its bad byte. A UTF-8
    byte-order mark at the start is dropped (it would otherwise become part of the first record); a
    UTF-16 or UTF-32 one is refused, since such a file is not UTF-8 at all.
    """
    with open(path, "rb") as f:  # binary lines end at b"\n" only, which no multi-byte UTF-8 character holds
        offset = 0
        for n, raw in enumerate(f, 1):
            if n == 1:
                for mark, encoding in BOMS:
                    if raw.startswith(mark):
                        if encoding != "UTF-8":
                            raise DataError(
                                f"{encoding} text (it starts with a byte-order mark); save it as UTF-8", path, 1
                            )
                        raw, offset = raw[len(mark) :], len(mark)
                        break
            if b"\x00" in raw:  # never in UTF-8 text; UTF-16 or UTF-32 without a byte-order mark, or a binary file
                at = offset + raw.index(b"\x00")
                raise DataError(
                    f"a NUL byte at byte {at}: UTF-16 or UTF-32 text, or not text at all; save it as UTF-8", path, n
                )
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"not UTF-8 text ({exc.reason} at byte {offset + exc.start})", path, n) from exc
            offset += len(raw)
            yield line.removesuffix("\n").removesuffix("\r")


def read_lines(path: str | Path) -> list[str]:
    """Every line of the file, as :func:`iter_lines` reads them."""
    return list(iter_lines(path))


def read_json_lines(path: str | Path) -> Iterator[tuple[int, object]]:
    """``(line number, parsed value)`` for every line of a JSON-lines file that is not blank."""
    for n, line in enumerate(iter_lines(path), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"malformed JSON ({exc.msg} at column {exc.colno})", path, n) from exc


def read_json_texts(path: str | Path) -> Iterator[tuple[int, dict, str]]:
    """``(line number, record, its text)`` for every record of a JSON-lines file of ``{"text": ..., ...}``
    objects; any other record is reported with its line."""
    for n, rec in read_json_lines(path):
        if not isinstance(rec, dict) or "text" not in rec:
            raise DataError("expected a JSON object with a 'text' field", path, n)
        if not isinstance(rec["text"], str):
            raise DataError(f"the 'text' field is not a string: {json.dumps(rec['text'])}", path, n)
        yield n, rec, rec["text"]
