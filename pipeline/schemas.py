"""Artifact schemas, defined once and checked on every read and write.

Each stage's Parquet outputs have one schema here. ``conform`` casts a table to
the schema (same column names, compatible types) or raises a ``DataError``
naming the file and the offending column.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from pipeline.errors import DataError

SCHEMAS: dict[str, pa.Schema] = {
    # prepare: one row per document of a split
    "documents": pa.schema([("id", pa.string()), ("text", pa.string()), ("labels", pa.list_(pa.string()))]),
    # prepare: one row per label (targets and their parents)
    "labels": pa.schema(
        [
            ("label", pa.string()),
            ("description", pa.string()),
            ("parent", pa.string()),
            ("train_count", pa.int64()),
            ("test_count", pa.int64()),
        ]
    ),
    # tokenise: token ids of a split, truncated to the dataset's word limit
    "tokens": pa.schema([("id", pa.string()), ("tokens", pa.list_(pa.int32()))]),
    # tokenise: the vocabulary; row i has id i (0 = <pad>, 1 = <unk>)
    "vocab": pa.schema([("id", pa.int32()), ("token", pa.string()), ("count", pa.int64())]),
    # tokenise: label descriptions as token ids, truncated
    "label_tokens": pa.schema([("label", pa.string()), ("tokens", pa.list_(pa.int32()))]),
    # embed: the document vectors V_x of Eq. 1
    "vectors": pa.schema([("id", pa.string()), ("vector", pa.list_(pa.float32()))]),
    # neighbours: nearest train documents, best first, with cosine similarities
    "neighbours": pa.schema(
        [("id", pa.string()), ("neighbours", pa.list_(pa.string())), ("similarities", pa.list_(pa.float32()))]
    ),
    # teacher: the teacher set and its token sequence (Algorithm 1)
    "teacher": pa.schema(
        [
            ("id", pa.string()),
            ("neighbours", pa.list_(pa.string())),
            ("similarities", pa.list_(pa.float32())),
            ("teacher_labels", pa.list_(pa.string())),
            ("teacher_votes", pa.list_(pa.float32())),  # each teacher label's vote share in [0, 1], same order
            ("teacher_tokens", pa.list_(pa.int32())),
        ]
    ),
    # predictions of any method: top-k labels, best first
    "predictions": pa.schema(
        [("id", pa.string()), ("labels", pa.list_(pa.string())), ("scores", pa.list_(pa.float32()))]
    ),
}

NOT_NULL = {
    "documents": ("id", "text", "labels"),
    "labels": ("label", "description", "train_count", "test_count"),
    "tokens": ("id", "tokens"),
    "vocab": ("id", "token", "count"),
    "label_tokens": ("label", "tokens"),
    "vectors": ("id", "vector"),
    "neighbours": ("id", "neighbours", "similarities"),
    "teacher": ("id", "neighbours", "similarities", "teacher_labels", "teacher_votes", "teacher_tokens"),
    "predictions": ("id", "labels", "scores"),
}


def conform(table: pa.Table, name: str, path: str | Path | None = None) -> pa.Table:
    """Return ``table`` cast to schema ``name``, or raise DataError naming ``path``."""
    schema = SCHEMAS[name]
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise DataError(f"{name} table lacks column(s) {missing}; has {table.column_names}", path)
    table = table.select(schema.names)
    try:
        table = table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"{name} table does not match its schema {schema}: {exc}", path) from exc
    for col in NOT_NULL[name]:
        if table.column(col).null_count:
            raise DataError(f"{name} table has nulls in column {col!r}", path)
    return table
