"""The one schema every loader produces, and the checks every corpus goes through."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from pipeline import schemas
from pipeline.data.hierarchy import ancestors
from pipeline.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class RawSplit:
    """Documents of one split as read, before cleaning.

    ``where[i]`` is ``(file, line)`` of record ``i``, for error messages.
    """

    name: str
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    labels: list[list[str]] = field(default_factory=list)
    where: list[tuple[str, int]] = field(default_factory=list)

    def add(self, id_: str, text: str, labels: list[str], path: str, line: int) -> None:
        self.ids.append(id_)
        self.texts.append(text)
        self.labels.append(labels)
        self.where.append((path, line))

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Corpus:
    train: pa.Table  # schema "documents"
    test: pa.Table  # schema "documents"
    labels: pa.Table  # schema "labels"
    stats: dict


def finalize(
    name: str,
    splits: list[RawSplit],
    parents: dict[str, str],
    descriptions: dict[str, str],
    *,
    keep_labels: set[str] | None = None,
    keep_reason: str = "no kept label",
    stats: dict | None = None,
) -> Corpus:
    """Check ids, drop documents with no text or no labels (counted), build the label table.

    ``keep_labels`` restricts every document's labels to a set (e.g. Reuters' R90);
    documents left with none are dropped under ``keep_reason``.
    """
    _check_unique_ids(splits)
    stats = dict(stats or {})
    stats["dataset"] = name
    split_stats: dict[str, dict] = {}
    tables: dict[str, pa.Table] = {}
    for split in splits:
        dropped: Counter[str] = Counter()
        ids, texts, labels = [], [], []
        for id_, text, labs in zip(split.ids, split.texts, split.labels):
            if not text or not text.strip():
                dropped["no text"] += 1
                continue
            labs = list(dict.fromkeys(lab for lab in labs if lab))  # de-duplicate, keep order
            if not labs:
                dropped["no labels"] += 1
                continue
            if keep_labels is not None:
                labs = [lab for lab in labs if lab in keep_labels]
                if not labs:
                    dropped[keep_reason] += 1
                    continue
            ids.append(id_)
            texts.append(text)
            labels.append(labs)
        if not ids:
            path = split.where[0][0] if split.where else None
            raise DataError(f"the {split.name} split of {name} is empty after cleaning (read {len(split)})", path)
        for reason, n in sorted(dropped.items()):
            log.warning("%s/%s: dropped %d document(s): %s", name, split.name, n, reason)
        split_stats[split.name] = {"read": len(split), "kept": len(ids), "dropped": dict(sorted(dropped.items()))}
        tables[split.name] = schemas.conform(pa.table({"id": ids, "text": texts, "labels": labels}), "documents")
    label_table = build_label_table(tables["train"], tables["test"], parents, descriptions)
    n_targets = int(
        sum(1 for c, t in zip(label_table["train_count"].to_pylist(), label_table["test_count"].to_pylist()) if c or t)
    )
    stats["splits"] = split_stats
    stats["labels"] = {
        "targets": n_targets,
        "in_train": int(sum(1 for c in label_table["train_count"].to_pylist() if c)),
        "test_only": int(
            sum(
                1
                for c, t in zip(label_table["train_count"].to_pylist(), label_table["test_count"].to_pylist())
                if t and not c
            )
        ),
        "parents_only": len(label_table) - n_targets,
        "with_parent": int(label_table["parent"].is_valid().to_numpy(zero_copy_only=False).sum()),
        "mean_per_train_doc": round(sum(map(len, tables["train"]["labels"].to_pylist())) / len(tables["train"]), 4),
        "once_in_train": int(sum(1 for c in label_table["train_count"].to_pylist() if c == 1)),
    }
    lab = stats["labels"]
    if lab["test_only"]:
        log.warning(
            "%s: %d label(s) occur in test texts only: no method can predict them, and they count against every one "
            "in the metrics (stats.json: labels.test_only)", name, lab["test_only"],
        )  # fmt: skip
    if lab["once_in_train"]:
        log.info(
            "%s: %d label(s) occur in one train text only (stats.json: labels.once_in_train)",
            name,
            lab["once_in_train"],
        )
    return Corpus(tables["train"], tables["test"], label_table, stats)


def _check_unique_ids(splits: list[RawSplit]) -> None:
    first: dict[str, tuple[str, int]] = {}
    for split in splits:
        for id_, (path, line) in zip(split.ids, split.where):
            if id_ in first:
                p0, l0 = first[id_]
                raise DataError(f"duplicate id {id_!r} (first seen in {p0}, line {l0})", path, line)
            first[id_] = (path, line)


def build_label_table(
    train: pa.Table, test: pa.Table, parents: dict[str, str], descriptions: dict[str, str]
) -> pa.Table:
    """One row per label used by a document, plus every ancestor of those labels.

    Labels are sorted by descending train count then name, so the order is
    stable and the most frequent labels come first.
    """
    train_count = Counter(lab for labs in train["labels"].to_pylist() for lab in labs)
    test_count = Counter(lab for labs in test["labels"].to_pylist() for lab in labs)
    names = set(train_count) | set(test_count)
    for lab in list(names):
        names.update(ancestors(lab, parents))
    order = sorted(names, key=lambda lab: (-train_count[lab], -test_count[lab], lab))
    return schemas.conform(
        pa.table(
            {
                "label": order,
                "description": [descriptions.get(lab) or default_description(lab) for lab in order],
                "parent": [parents.get(lab) for lab in order],
                "train_count": [train_count[lab] for lab in order],
                "test_count": [test_count[lab] for lab in order],
            }
        ),
        "labels",
    )


def default_description(label: str) -> str:
    """A readable description from a label code when the data gives none."""
    return label.replace("_", " ").replace("-", " ").strip() or label
