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

from pathlib import Path

from pipeline.data.corpus import Corpus, RawSplit, finalize
from pipeline.errors import DataError
from pipeline.data.hierarchy import build_parents, read_tsv_edges
from pipeline.data.textfile import read_json_lines, read_lines

LAYOUTS = ("auto", "jsonl", "xmlrepo")


def detect_layout(folder: Path) -> str:
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
        if not isinstance(rec, dict) or "id" not in rec or "text" not in rec or "labels" not in rec:
            raise DataError('expected an object {"id": ..., "text": ..., "labels": [...]}', path, n)
        labels = rec["labels"]
        if isinstance(labels, str) or not isinstance(labels, list):
            raise DataError(f"'labels' must be a list of strings, got {labels!r}", path, n)
        text = rec["text"] if isinstance(rec["text"], str) else ""
        out.add(str(rec["id"]), text, [str(x) for x in labels if x is not None], str(path), n)
    if not len(out):
        raise DataError(f"the {split} split is empty (no records)", path)
    return out


def read_xmlrepo(folder: Path, split: str) -> RawSplit:
    tpath, lpath = folder / f"{split}_texts.txt", folder / f"{split}_labels.txt"
    for p in (tpath, lpath):
        if not p.exists():
            raise DataError(f"missing {split} file", p)
    texts, labels = read_lines(tpath), read_lines(lpath)
    if len(texts) != len(labels):
        raise DataError(
            f"{tpath.name} has {len(texts)} lines but {lpath.name} has {len(labels)}; "
            "they must pair up line by line",
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
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n\r").split("\t", 1)
            if len(parts) != 2 or not parts[0].strip():
                raise DataError(f"expected 'label<TAB>description', got {line.strip()!r}", path, n)
            out[parts[0].strip()] = parts[1].strip()
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
