"""Reuters-21578 (Distribution 1.0): the ModApte split and the R90 label set.

- Documents: the ``<REUTERS>`` records of ``reut2-000.sgm`` ... ``reut2-021.sgm``.
  Train = ``LEWISSPLIT="TRAIN"`` with ``TOPICS="YES"``; test = ``LEWISSPLIT="TEST"``
  with ``TOPICS="YES"`` (ModApte, README.txt section VIII.B). Id = ``NEWID``.
- Text: TITLE and BODY; a record with neither (``TYPE="UNPROC"``) uses its whole TEXT.
- Labels: the TOPICS codes, restricted to R90 (codes with at least one train and
  one test story). Stories left with no R90 code are dropped and counted.
- Hierarchy: the group headings of ``cat-descriptions_120396.txt`` ("Economic
  Indicator Codes", "Currency Codes", ...) are parents of the codes listed under
  them; the three codes listed directly under "Subject Codes" get that heading.
  A heading is a label ``group:<slug>`` with no parent.
- Descriptions: the names given there (``Money/Foreign Exchange`` for ``money-fx``);
  codes listed bare (the commodities) are described by the code itself.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from pipeline.data.corpus import Corpus, RawSplit, finalize
from pipeline.errors import DataError

SGM_FILES = tuple(f"reut2-{i:03d}.sgm" for i in range(22))
CAT_FILE = "cat-descriptions_120396.txt"

_OPEN = re.compile(r"<REUTERS\b([^>]*)>")
_CLOSE = "</REUTERS>"
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.S)
_D = re.compile(r"<D>(.*?)</D>", re.S)
_TEXT = re.compile(r"<TEXT\b[^>]*>(.*?)</TEXT>", re.S)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)
_TAG = re.compile(r"<[^>]+>")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]+")


def parse_sgm(path: str | Path) -> list[dict]:
    """Parse one SGML file into records ``{newid, topics_attr, lewissplit, topics, text, line}``."""
    path = Path(path)
    raw = path.read_bytes().decode("latin-1")  # a few stories hold stray non-ASCII bytes
    records = []
    pos, line = 0, 1
    for m in _OPEN.finditer(raw):
        line += raw.count("\n", pos, m.start())
        pos = m.start()
        end = raw.find(_CLOSE, m.end())
        nxt = raw.find("<REUTERS", m.end())
        if end < 0 or (0 <= nxt < end):
            raise DataError("<REUTERS> record is not closed by </REUTERS>", path, line)
        attrs = dict(_ATTR.findall(m.group(1)))
        if "NEWID" not in attrs or "LEWISSPLIT" not in attrs or "TOPICS" not in attrs:
            raise DataError(f"<REUTERS> record lacks NEWID/LEWISSPLIT/TOPICS attributes: {m.group(0)!r}", path, line)
        body = raw[m.end() : end]
        tm = _TOPICS.search(body)
        topics = [_clean(t).strip().lower() for t in _D.findall(tm.group(1))] if tm else []
        records.append(
            {
                "newid": attrs["NEWID"],
                "topics_attr": attrs["TOPICS"],
                "lewissplit": attrs["LEWISSPLIT"],
                "topics": [t for t in topics if t],
                "text": _text(body),
                "line": line,
            }
        )
    if not records:
        raise DataError("no <REUTERS> records found", path)
    return records


def _clean(s: str) -> str:
    return _CTRL.sub(" ", html.unescape(s))


def _text(body: str) -> str:
    tm = _TEXT.search(body)
    if not tm:
        return ""
    text = tm.group(1)
    parts = [p.group(1) for p in (_TITLE.search(text), _BODY.search(text)) if p]
    if not parts:  # TYPE="UNPROC": no TITLE or BODY markup
        parts = [_TAG.sub(" ", text)]
    return "\n".join(" ".join(_clean(p).split()) for p in parts).strip()


def parse_categories(path: str | Path) -> tuple[dict[str, str], dict[str, str]]:
    """Return ``(parents, descriptions)`` from Lewis's category notes.

    Only the TOPICS part (from ``****Subject Codes`` to the first ``____`` rule) is read.
    """
    path = Path(path)
    lines = path.read_text(encoding="latin-1").splitlines()
    parents: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    heading = None
    inside = False
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if s.startswith("****Subject Codes"):
            inside = True
        elif inside and s.startswith("____"):
            break
        if not inside or not s:
            continue
        if s.startswith("**"):
            name = re.sub(r"\s*\(\d+\)\s*$", "", s.strip("*").strip())
            short = re.sub(r"\s+Codes$", "", name)
            heading = "group:" + re.sub(r"[^a-z0-9]+", "-", short.lower()).strip("-")
            descriptions[heading] = short
            continue
        m = re.fullmatch(r"(.*?)\s*\(([A-Z0-9-]+)\)", s) or re.fullmatch(r"()([A-Z0-9-]+)", s)
        if not m:
            raise DataError(f"unrecognised category line {s!r}", path, n)
        code = m.group(2).lower()
        if heading is None:
            raise DataError(f"category {code!r} appears before any heading", path, n)
        parents[code] = heading
        descriptions[code] = m.group(1) or code.replace("-", " ")
    if not parents:
        raise DataError("no TOPICS categories found (expected a '****Subject Codes' section)", path)
    return parents, descriptions


def all_texts(raw_dir: str | Path) -> list[str]:
    """The text of every story in the 22 files, labelled or not, in any split (unlabelled text for word2vec)."""
    return [r["text"] for name in SGM_FILES for r in parse_sgm(Path(raw_dir) / name) if r["text"]]


def load(raw_dir: str | Path) -> Corpus:
    raw_dir = Path(raw_dir)
    train, test = RawSplit("train"), RawSplit("test")
    read = 0
    outside = 0
    for name in SGM_FILES:
        path = raw_dir / name
        for r in parse_sgm(path):
            read += 1
            if r["topics_attr"] != "YES" or r["lewissplit"] not in ("TRAIN", "TEST"):
                outside += 1
                continue
            split = train if r["lewissplit"] == "TRAIN" else test
            split.add(r["newid"], r["text"], r["topics"], str(path), r["line"])
    in_train = {t for labs in train.labels for t in labs}
    in_test = {t for labs in test.labels for t in labs}
    r90 = in_train & in_test
    parents, descriptions = parse_categories(raw_dir / CAT_FILE)
    unknown = sorted(r90 - set(parents))
    if unknown:
        raise DataError(f"R90 codes with no heading in the category notes: {unknown}", raw_dir / CAT_FILE)
    return finalize(
        "reuters21578",
        [train, test],
        parents,
        descriptions,
        keep_labels=r90,
        keep_reason="no R90 label",
        stats={"documents_read": read, "outside_modapte": outside, "label_set": f"R{len(r90)}"},
    )
