"""The RCV1-v2 subset (2,316 stories) with the official topic hierarchy.

- ``rcv1_dev.json``: one JSON object per line, ``{"doc_label": [...], "doc_token": [...]}``.
  No ids ship with it: a story's id is ``rcv1-<line number>``; its text is its
  tokens joined by spaces; its labels are the codes given (ancestors included).
- ``rcv1.taxonomy``: ``PARENT<TAB>CHILD<TAB>...`` lines rooted at ``Root``; the
  four top codes (CCAT, ECAT, GCAT, MCAT) have no parent (``Root`` is not a label).
- ``rcv1.label_meaning``: ``CODE: NAME`` entries indented by depth (one line of the
  published file holds two entries; both are read).
- Split: no official one ships, so a seeded permutation puts ``test_fraction`` of
  the stories in test; the seed is a parameter and is recorded in ``stats.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from pipeline.data.corpus import Corpus, RawSplit, finalize
from pipeline.data.hierarchy import Edge, build_parents
from pipeline.errors import DataError

ROOT = "Root"


def read_taxonomy(path: str | Path) -> dict[str, str]:
    edges = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = [p.strip() for p in line.rstrip("\n").split("\t") if p.strip()]
            if not parts:
                continue
            if len(parts) < 2:
                raise DataError(f"expected 'PARENT<TAB>CHILD...', got {line.strip()!r}", path, n)
            parent, children = parts[0], parts[1:]
            edges += [Edge(c, parent, str(path), n) for c in children]
    parents = build_parents(edges)
    return {c: p for c, p in parents.items() if p != ROOT}


def read_meanings(path: str | Path, codes: set[str]) -> dict[str, str]:
    """``{code: name}``; an entry starts where a known code is followed by a colon."""
    text = Path(path).read_text(encoding="utf-8")
    starts = [m for m in re.finditer(r"([A-Z][A-Z0-9]*):", text) if m.group(1) in codes]
    out = {}
    for m, nxt in zip(starts, starts[1:] + [None]):
        name = text[m.end() : nxt.start() if nxt else len(text)]
        out[m.group(1)] = " ".join(name.split()).title()
    return out


def _records(path: Path):
    """``(line number, text, labels)`` of every record of ``rcv1_dev.json`` (the text: its tokens joined by spaces)."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                tokens, labels = rec["doc_token"], rec["doc_label"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(
                    f"malformed record ({exc}); expected {{'doc_label': [...], 'doc_token': [...]}}", path, n
                ) from exc
            yield n, " ".join(map(str, tokens)), labels


def all_texts(raw_dir: str | Path) -> list[str]:
    """The text of every story (its tokens joined), whatever the split (unlabelled text for word2vec)."""
    return [text for _, text, _ in _records(Path(raw_dir) / "rcv1_dev.json")]


def load(raw_dir: str | Path, test_fraction: float = 0.2, split_seed: int = 13) -> Corpus:
    raw_dir = Path(raw_dir)
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"rcv1-v2-subset.test_fraction must be in (0, 1), got {test_fraction}")
    path = raw_dir / "rcv1_dev.json"
    docs = [(f"rcv1-{n:05d}", text, [str(x) for x in labels], n) for n, text, labels in _records(path)]
    rng = np.random.default_rng(split_seed)
    is_test = np.zeros(len(docs), dtype=bool)
    is_test[rng.permutation(len(docs))[: int(round(test_fraction * len(docs)))]] = True
    train, test = RawSplit("train"), RawSplit("test")
    for (id_, text, labels, n), t in zip(docs, is_test):
        (test if t else train).add(id_, text, labels, str(path), n)
    parents = read_taxonomy(raw_dir / "rcv1.taxonomy")
    codes = set(parents) | set(parents.values())
    descriptions = read_meanings(raw_dir / "rcv1.label_meaning", codes)
    return finalize(
        "rcv1-v2-subset",
        [train, test],
        parents,
        descriptions,
        stats={"split_seed": split_seed, "test_fraction": test_fraction, "documents_read": len(docs)},
    )
