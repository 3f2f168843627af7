"""Atomic artifact writing: nothing half-written survives a failure or a kill."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import schemas


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Build a directory in a temporary sibling, then swap it into place.

    If the body raises (or the process dies), ``target`` keeps its previous
    content and the temporary directory is removed (or left with a
    ``.tmp-`` prefix that the next run cleans up).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".tmp-{target.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".tmp-{target.name}-old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_file(target: str | Path) -> "contextlib.AbstractContextManager[Path]":
    """Yield a temporary path next to ``target``; rename it into place on success."""
    return _atomic_file(Path(target))


@contextlib.contextmanager
def _atomic_file(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".tmp-{target.name}-", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(table: pa.Table, path: str | Path, schema_name: str) -> None:
    """Check ``table`` against a named schema and write it atomically as Parquet."""
    table = schemas.conform(table, schema_name, path)
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_table(path: str | Path, schema_name: str) -> pa.Table:
    """Read a Parquet artifact and check it against its schema."""
    path = Path(path)
    if not path.exists():
        from pipeline.errors import DataError

        raise DataError("missing artifact (run the stage that writes it first)", path)
    return schemas.conform(pq.read_table(path), schema_name, path)


def write_json(obj: object, path: str | Path) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
