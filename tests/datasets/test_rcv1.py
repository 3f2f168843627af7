"""The RCV1-v2 subset: JSON lines, the topic taxonomy, label meanings and the seeded split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import schemas
from pipeline.data import rcv1
from pipeline.errors import DataError

TAXONOMY = "Root\tCCAT\tECAT\nCCAT\tC15\tC31\tC32\nC15\tC151\nC31\tC313\nECAT\tE11\n"
MEANINGS = (
    "CCAT: CORPORATE/INDUSTRIAL\n"
    "\tC15: PERFORMANCE\n"
    "\t\tC151: ACCOUNTS/EARNINGS\n"
    "\tC31: MARKETS/MARKETING\n"
    "\t\tC313: MARKET SHARE C32: ADVERTISING/PROMOTION\n"
    "ECAT: ECONOMICS\n"
    "\tE11: ECONOMIC PERFORMANCE\n"
)
LABEL_SETS = [["C151", "C15", "CCAT"], ["C313", "C31", "CCAT"], ["E11", "ECAT"], ["C32", "CCAT", "E11", "ECAT"]]


def write_raw(folder: Path, n_docs: int = 20, lines: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if lines is None:
        lines = [
            json.dumps({"doc_label": LABEL_SETS[i % len(LABEL_SETS)], "doc_token": ["Story", str(i), "words"]})
            for i in range(n_docs)
        ]
    (folder / "rcv1_dev.json").write_text("".join(line + "\n" for line in lines))
    (folder / "rcv1.taxonomy").write_text(TAXONOMY)
    (folder / "rcv1.label_meaning").write_text(MEANINGS)
    return folder


def split_ids(corpus) -> tuple[list[str], list[str]]:
    return corpus.train["id"].to_pylist(), corpus.test["id"].to_pylist()


# --- tiny inputs -----------------------------------------------------------------


def test_load_tiny_set(tmp_path):
    corpus = rcv1.load(write_raw(tmp_path, 20), test_fraction=0.25, split_seed=1)
    assert corpus.train.schema == schemas.SCHEMAS["documents"]
    assert (len(corpus.train), len(corpus.test)) == (15, 5)
    docs = {r["id"]: r for r in corpus.train.to_pylist() + corpus.test.to_pylist()}
    assert sorted(docs) == [f"rcv1-{n:05d}" for n in range(1, 21)]  # ids are line numbers
    assert docs["rcv1-00001"]["text"] == "Story 0 words"
    assert docs["rcv1-00001"]["labels"] == ["C151", "C15", "CCAT"]
    assert corpus.stats["documents_read"] == 20
    assert (corpus.stats["split_seed"], corpus.stats["test_fraction"]) == (1, 0.25)


def test_labels_table_parents_and_descriptions(tmp_path):
    corpus = rcv1.load(write_raw(tmp_path, 20), test_fraction=0.25, split_seed=1)
    rows = {r["label"]: r for r in corpus.labels.to_pylist()}
    assert "Root" not in rows
    assert rows["CCAT"]["parent"] is None and rows["ECAT"]["parent"] is None
    assert rows["C151"]["parent"] == "C15"
    assert rows["C313"]["parent"] == "C31"
    assert rows["C32"]["parent"] == "CCAT"
    assert rows["CCAT"]["description"] == "Corporate/Industrial"
    assert rows["C151"]["description"] == "Accounts/Earnings"
    # the published file puts two entries on one line: both are read
    assert rows["C313"]["description"] == "Market Share"
    assert rows["C32"]["description"] == "Advertising/Promotion"
    assert rows["E11"]["description"] == "Economic Performance"


def test_read_meanings_ignores_unknown_codes(tmp_path):
    path = tmp_path / "meanings"
    path.write_text("C15: PERFORMANCE USA: NOT A CODE\nC151: ACCOUNTS\n")
    assert rcv1.read_meanings(path, {"C15", "C151"}) == {"C15": "Performance Usa: Not A Code", "C151": "Accounts"}


def test_read_taxonomy_drops_root_and_checks_the_tree(tmp_path):
    path = tmp_path / "rcv1.taxonomy"
    path.write_text(TAXONOMY)
    parents = rcv1.read_taxonomy(path)
    assert parents["C151"] == "C15" and parents["C15"] == "CCAT"
    assert "CCAT" not in parents
    path.write_text(TAXONOMY + "ECAT\tC151\n")
    with pytest.raises(DataError, match=rf"{path}, line 6: label 'C151' has two parents"):
        rcv1.read_taxonomy(path)
    path.write_text(TAXONOMY + "LONELY\n")
    with pytest.raises(DataError, match=rf"{path}, line 6: expected 'PARENT<TAB>CHILD"):
        rcv1.read_taxonomy(path)


@pytest.mark.parametrize(
    "bad",
    ['{"doc_label": ["CCAT"], "doc_token": ["a"]', '{"doc_label": ["CCAT"]}', '["CCAT"]'],
    ids=["truncated-json", "missing-key", "not-an-object"],
)
def test_malformed_line_names_file_and_line(tmp_path, bad):
    good = json.dumps({"doc_label": ["CCAT"], "doc_token": ["a"]})
    folder = write_raw(tmp_path, lines=[good, "", good, bad, good])
    with pytest.raises(DataError) as exc:
        rcv1.load(folder)
    assert str(exc.value).startswith(f"{folder / 'rcv1_dev.json'}, line 4: malformed record")


def test_split_is_seeded(tmp_path):
    folder = write_raw(tmp_path, 40)
    a = split_ids(rcv1.load(folder, 0.25, split_seed=7))
    b = split_ids(rcv1.load(folder, 0.25, split_seed=7))
    c = split_ids(rcv1.load(folder, 0.25, split_seed=8))
    assert a == b
    assert set(a[1]) != set(c[1])
    assert sorted(a[0] + a[1]) == sorted(c[0] + c[1])  # same stories, differently split


@pytest.mark.parametrize(("fraction", "n_test"), [(0.1, 4), (0.25, 10), (0.5, 20), (0.9, 36)])
def test_split_sizes_follow_test_fraction(tmp_path, fraction, n_test):
    corpus = rcv1.load(write_raw(tmp_path, 40), fraction, split_seed=3)
    assert (len(corpus.train), len(corpus.test)) == (40 - n_test, n_test)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_test_fraction_out_of_range(tmp_path, fraction):
    with pytest.raises(DataError, match="test_fraction must be in"):
        rcv1.load(write_raw(tmp_path, 10), fraction)


# --- the real data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(real_data_dir):
    folder = real_data_dir / "rcv1-v2-subset"
    if not (folder / "rcv1_dev.json").is_file():
        pytest.skip(f"no RCV1-v2 subset files in {folder}")
    return rcv1.load(folder)


def test_real_sizes_with_the_default_split(real):
    assert real.stats["documents_read"] == 2316
    assert (len(real.train), len(real.test)) == (1853, 463)
    assert (real.stats["split_seed"], real.stats["test_fraction"]) == (13, 0.2)


def test_real_every_label_has_a_description(real):
    for row in real.labels.to_pylist():
        assert row["description"].strip(), row
        assert row["description"] != row["label"], row  # a real name, not the code


def test_real_hierarchy(real):
    rows = {r["label"]: r for r in real.labels.to_pylist()}
    for top in ("CCAT", "ECAT", "GCAT", "MCAT"):
        assert rows[top]["parent"] is None
    assert rows["C151"]["parent"] == "C15"
    assert rows["C1511"]["parent"] == "C151"
    assert rows["C32"]["description"] == "Advertising/Promotion"
    assert {r["label"] for r in rows.values() if r["parent"] is None} == {"CCAT", "ECAT", "GCAT", "MCAT"}


def test_all_texts_reads_every_story_whatever_the_split(tmp_path):
    folder = write_raw(tmp_path, 10)
    texts = rcv1.all_texts(folder)
    corpus = rcv1.load(folder, 0.3)
    assert texts == [f"Story {i} words" for i in range(10)]
    assert sorted(texts) == sorted(corpus.train["text"].to_pylist() + corpus.test["text"].to_pylist())


def test_all_texts_names_a_malformed_line(tmp_path):
    good = json.dumps({"doc_label": ["CCAT"], "doc_token": ["a"]})
    folder = write_raw(tmp_path, lines=[good, '{"doc_label": ["CCAT"]}'])
    with pytest.raises(DataError, match="line 2: malformed record"):
        rcv1.all_texts(folder)


def test_real_all_texts(real_data_dir):
    folder = real_data_dir / "rcv1-v2-subset"
    if not (folder / "rcv1_dev.json").is_file():
        pytest.skip(f"no RCV1-v2 subset files in {folder}")
    assert len(rcv1.all_texts(folder)) == 2316
