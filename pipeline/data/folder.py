"""Users' own data in a folder, in one of two layouts.

JSON lines (``layout: jsonl``)
    ``train.jsonl`` and ``test.jsonl``, one ``{"id": ..., "text": ..., "labels": [...]}`` per line.

XML-repository raw text (``layout: xmlrepo``; how EURLex-4K and AmazonCat-13K are distributed)
    ``train_texts.txt``/``train_labels.txt`` and ``test_texts.txt``/``test_labels.txt``:
    one document per line, labels space-separated; ids are ``train-<line>``/``test-<line>``.

Optional in both: ``hierarchy.tsv`` (``child<TAB>parent``) and
``label_descriptions.tsv`` (``label<TAB>text``). A label with no description is
described by its own name. ``layout: auto`` picks whichever layout's files exist.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.data.corpus import Corpus, RawSplit, finalize
from pipeline.data.hierarchy import build_parents, read_tsv_edges
from pipeline.data.textfile import iter_lines, read_json_lines, read_lines
from pipeline.errors import DataError

LAYOUTS = ("auto", "jsonl", "xmlrepo")


def detect_layout(folder: Path) -> str:
    if (folder / "train.jsonl").exists() and (folder / "train_texts.txt").exists():
        raise DataError(
            "holds both layouts (train.jsonl and train_texts.txt); say which one to read: "
            "folder.layout: jsonl or folder.layout: xmlrepo",
            folder,
        )
    if (folder / "train.jsonl").exists():
        return "jsonl"
    if (folder / "train_texts.txt").exists():
        return "xmlrepo"
    raise DataError("found neither train.jsonl nor train_texts.txt (see README: 'Your own data')", folder)


def read_jsonl(path: Path, split: str) -> RawSplit:
    out = RawSplit(split)
    if not path.exists():
        raise DataError(f"missing {split} file", path)
    for n, rec in read_json_lines(path):
        out.add(*_record(rec, path, n), str(path), n)
    if not len(out):
        raise DataError(f"the {split} split is empty (no records)", path)
    return out


def _record(rec, path: Path, n: int) -> tuple[str, str, list[str]]:
    """(id, text, labels) of one JSON-lines record, every field checked: nothing is turned into a string
    or dropped without a word (a label 7 or true, a null label, " football" beside "football")."""
    if not isinstance(rec, dict):
        raise DataError(
            f'expected a JSON object {{"id": ..., "text": ..., "labels": [...]}}, got {_show(rec)}', path, n
        )
    missing = [key for key in ("id", "text", "labels") if key not in rec]
    if missing:
        raise DataError(f"the record has no {' and no '.join(repr(k) for k in missing)} field", path, n)
    id_, text, labels = rec["id"], rec["text"], rec["labels"]
    if isinstance(id_, bool) or not isinstance(id_, (str, int)) or (isinstance(id_, str) and not id_.strip()):
        raise DataError(f"'id' must be a non-empty string or a whole number, got {_show(id_)}", path, n)
    if text is None:
        text = ""  # no text: dropped and counted, as an empty one
    if not isinstance(text, str):
        raise DataError(f"'text' must be a string, got {_show(text)}", path, n)
    if not isinstance(labels, list):
        raise DataError(f"'labels' must be a list of strings, got {_show(labels)}", path, n)
    for label in labels:
        if not isinstance(label, str):
            raise DataError(f"a label must be a string, got {_show(label)} in 'labels' {_show(labels)}", path, n)
        if not label.strip():
            raise DataError(f"an empty label {_show(label)} in 'labels' {_show(labels)}", path, n)
        if label != label.strip():
            raise DataError(
                f"label {_show(label)} has spaces around it; labels are compared exactly, so it would be another "
                f"label than {_show(label.strip())}",
                path,
                n,
            )
    return str(id_), text, labels


def _show(value) -> str:
    return json.dumps(value, ensure_ascii=False)[:120]


def read_xmlrepo(folder: Path, split: str) -> RawSplit:
    tpath, lpath = folder / f"{split}_texts.txt", folder / f"{split}_labels.txt"
    for p in (tpath, lpath):
        if not p.exists():
            raise DataError(f"missing {split} file", p)
    texts, labels = read_lines(tpath), read_lines(lpath)
    if len(texts) != len(labels):
        raise DataError(
            f"{tpath.name} has {len(texts)} lines but {lpath.name} has {len(labels)}; they must pair up line by line",
            lpath if len(labels) > len(texts) else tpath,  # the first unpaired line
            min(len(texts), len(labels)) + 1,
        )
    if not texts:
        raise DataError(f"the {split} split is empty (no lines)", tpath)
    out = RawSplit(split)
    for n, (text, labs) in enumerate(zip(texts, labels), 1):
        out.add(f"{split}-{n}", text, labs.split(), str(tpath), n)
    return out


def read_descriptions(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    first: dict[str, int] = {}
    for n, line in enumerate(iter_lines(path), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 1)
        if len(parts) != 2 or not parts[0].strip():
            raise DataError(f"expected 'label<TAB>description', got {line.strip()!r}", path, n)
        label, text = parts[0].strip(), parts[1].strip()
        if label in out and out[label] != text:
            raise DataError(
                f"label {label!r} has two descriptions: {out[label]!r} (line {first[label]}) and {text!r}", path, n
            )
        out[label], first[label] = text, first.get(label, n)
    return out


def load(path: str | Path, layout: str = "auto") -> Corpus:
    folder = Path(path)
    if not folder.is_dir():
        raise DataError("folder dataset: not a directory (set folder.path)", folder)
    if layout not in LAYOUTS:
        raise DataError(f"folder.layout must be one of {list(LAYOUTS)}, got {layout!r}")
    if layout == "auto":
        layout = detect_layout(folder)
    if layout == "jsonl":
        splits = [read_jsonl(folder / "train.jsonl", "train"), read_jsonl(folder / "test.jsonl", "test")]
    else:
        splits = [read_xmlrepo(folder, "train"), read_xmlrepo(folder, "test")]
    hier = folder / "hierarchy.tsv"
    parents = build_parents(read_tsv_edges(hier)) if hier.exists() else {}
    desc = folder / "label_descriptions.tsv"
    descriptions = read_descriptions(desc) if desc.exists() else {}
    return finalize("folder", splits, parents, descriptions, stats={"layout": layout, "path": str(folder)})
