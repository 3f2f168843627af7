"""Reuters-21578: SGML parsing, the ModApte split, R90 labels and the category notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import schemas
from pipeline.data import reuters
from pipeline.errors import DataError

CATEGORIES = """\
Some notes on the Reuters Categories
*********************************************************************

****Subject Codes (135)

Money/Foreign Exchange (MONEY-FX)
Interest Rates (INTEREST)

**Economic Indicator Codes (16)

Trade (TRADE)

**Commodity Codes (78)

COCOA
COTTON \n\
GOLD
TEA

________________________________________________________________

@heading[Organization Codes (56)]
African Development Bank (ADB-AFRICA)@*
"""


def record(newid, topics=(), *, split="TRAIN", has_topics="YES", title="Title", body="Body text", unproc=None):
    head = (
        f'<REUTERS TOPICS="{has_topics}" LEWISSPLIT="{split}" CGISPLIT="TRAINING-SET" '
        f'OLDID="{5000 + int(newid)}" NEWID="{newid}">\n'
    )
    ds = "".join(f"<D>{t}</D>" for t in topics)
    if unproc is not None:
        text = f'<TEXT TYPE="UNPROC">&#2;\n{unproc}\n</TEXT>\n'
    else:
        title_part = f"<TITLE>{title}</TITLE>\n" if title is not None else ""
        body_part = f"<BODY>{body}\n Reuter\n&#3;</BODY>" if body is not None else ""
        text = f"<TEXT>&#2;\n{title_part}<DATELINE>    LONDON, March 2 - </DATELINE>{body_part}</TEXT>\n"
    return (
        head
        + "<DATE>26-FEB-1987 15:01:01.79</DATE>\n"
        + f"<TOPICS>{ds}</TOPICS>\n<PLACES><D>uk</D></PLACES>\n<PEOPLE></PEOPLE>\n<ORGS></ORGS>\n"
        + "<EXCHANGES></EXCHANGES>\n<COMPANIES></COMPANIES>\n<UNKNOWN> \n&#5;&#5;&#5;C T\n</UNKNOWN>\n"
        + text
        + "</REUTERS>\n"
    )


def sgm(*records) -> str:
    return '<!DOCTYPE lewis SYSTEM "lewis.dtd">\n' + "".join(records)


def write_tiny_set(folder: Path, first_file: str) -> Path:
    """All 22 SGML files (the first with the given content, the others one unused record) + categories."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(reuters.SGM_FILES):
        content = first_file if i == 0 else sgm(record(1000 + i, ["cocoa"], split="NOT-USED"))
        (folder / name).write_text(content, encoding="latin-1")
    (folder / reuters.CAT_FILE).write_text(CATEGORIES, encoding="latin-1")
    return folder


# --- parse_sgm -------------------------------------------------------------------


def test_parse_sgm_reads_attributes_topics_and_title_plus_body(tmp_path):
    path = tmp_path / "reut2-000.sgm"
    first_record = record(1, ["cocoa"], title="BAHIA COCOA REVIEW", body="Showers continued\nthroughout the week.")
    path.write_text(sgm(first_record, record(2, ["Money-FX", "dlr"], split="TEST", has_topics="NO")))
    first, second = reuters.parse_sgm(path)
    assert first["newid"] == "1" and first["lewissplit"] == "TRAIN" and first["topics_attr"] == "YES"
    assert first["topics"] == ["cocoa"]
    # TITLE and BODY, whitespace normalised, the DATELINE and control characters left out
    assert first["text"] == "BAHIA COCOA REVIEW\nShowers continued throughout the week. Reuter"
    assert first["line"] == 2
    assert second["topics"] == ["money-fx", "dlr"]  # lower-cased
    assert (second["lewissplit"], second["topics_attr"]) == ("TEST", "NO")
    assert second["line"] == 2 + first_record.count("\n")


def test_parse_sgm_unescapes_entities(tmp_path):
    path = tmp_path / "reut2-000.sgm"
    path.write_text(
        sgm(record(1, ["acq"], title="AT&amp;T &lt;T> BUYS", body="Price &gt; 5 &#38; rising\x1enow&#22;&#1;"))
    )
    (rec,) = reuters.parse_sgm(path)
    # entities decoded; the control characters (&#2;, &#3;, raw bytes) are gone
    assert rec["text"] == "AT&T <T> BUYS\nPrice > 5 & rising now Reuter"


def test_parse_sgm_title_only_and_unproc_texts(tmp_path):
    path = tmp_path / "reut2-000.sgm"
    path.write_text(
        sgm(
            record(1, ["earn"], title="SHORT BRIEF", body=None),
            record(
                2, ["money-supply"], unproc="FEDERAL RESERVE WEEKLY REPORT\n  M-1....736.7 &lt;up> 2.1\n Reuter\n&#3;"
            ),
            record(3, ["earn"], title=None, body=None),
        )
    )
    brief, unproc, empty = reuters.parse_sgm(path)
    assert brief["text"] == "SHORT BRIEF"
    assert unproc["text"] == "FEDERAL RESERVE WEEKLY REPORT M-1....736.7 <up> 2.1 Reuter"
    assert empty["text"] == "LONDON, March 2 -"  # no TITLE/BODY markup: the whole TEXT


def test_parse_sgm_reads_latin1_bytes(tmp_path):
    path = tmp_path / "reut2-000.sgm"
    path.write_bytes(sgm(record(1, ["coffee"], body="Caf\xe9 prices")).encode("latin-1"))
    assert reuters.parse_sgm(path)[0]["text"].endswith("Café prices Reuter")


def test_unclosed_record_names_file_and_line(tmp_path):
    path = tmp_path / "reut2-003.sgm"
    unclosed = record(2, ["tea"]).replace("</REUTERS>\n", "")
    path.write_text(sgm(record(1, ["cocoa"]), unclosed, record(3, ["tea"])))
    line = 2 + record(1).count("\n")
    with pytest.raises(DataError) as exc:
        reuters.parse_sgm(path)
    assert str(exc.value).startswith(f"{path}, line {line}: ")
    assert "not closed" in str(exc.value)
    path.write_text(sgm(record(1, ["cocoa"]), unclosed))  # the last record of the file
    with pytest.raises(DataError, match=rf"line {line}: <REUTERS> record is not closed"):
        reuters.parse_sgm(path)


def test_record_without_newid_and_file_without_records(tmp_path):
    path = tmp_path / "reut2-000.sgm"
    path.write_text(sgm(record(1, ["cocoa"]).replace(' NEWID="1"', "")))
    with pytest.raises(DataError, match=r"line 2: <REUTERS> record lacks NEWID"):
        reuters.parse_sgm(path)
    path.write_text('<!DOCTYPE lewis SYSTEM "lewis.dtd">\n')
    with pytest.raises(DataError, match="no <REUTERS> records"):
        reuters.parse_sgm(path)


# --- parse_categories ------------------------------------------------------------------


def test_parse_categories_groups_and_descriptions(tmp_path):
    path = tmp_path / reuters.CAT_FILE
    path.write_text(CATEGORIES)
    parents, descriptions = reuters.parse_categories(path)
    assert parents == {
        "money-fx": "group:subject",
        "interest": "group:subject",
        "trade": "group:economic-indicator",
        "cocoa": "group:commodity",
        "cotton": "group:commodity",
        "gold": "group:commodity",
        "tea": "group:commodity",
    }  # nothing from after the ____ rule (organisations)
    assert descriptions["money-fx"] == "Money/Foreign Exchange"
    assert descriptions["cocoa"] == "cocoa"  # commodities are listed bare
    assert descriptions["group:economic-indicator"] == "Economic Indicator"
    assert descriptions["group:subject"] == "Subject"


def test_parse_categories_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / reuters.CAT_FILE
    path.write_text(CATEGORIES.replace("Trade (TRADE)", "Trade, TRADE"))
    line = CATEGORIES.splitlines().index("Trade (TRADE)") + 1
    with pytest.raises(DataError) as exc:
        reuters.parse_categories(path)
    assert str(exc.value).startswith(f"{path}, line {line}: ")
    path.write_text("no subject codes here\n")
    with pytest.raises(DataError, match="Subject Codes"):
        reuters.parse_categories(path)


# --- load (tiny full set) ------------------------------------------------------------------


@pytest.fixture()
def tiny_corpus(tmp_path):
    first = sgm(
        record(1, ["cocoa"], title="COCOA ONE"),
        record(2, ["cocoa", "gold"], title="COCOA AND GOLD"),
        record(3, ["gold"], title="GOLD ONLY"),  # gold is train-only: not R90 -> dropped
        record(4, [], title="NO TOPICS"),  # no labels -> dropped
        record(5, ["money-fx"], title="FX TRAIN"),
        record(6, ["cocoa"], title="NOT IN MODAPTE", has_topics="NO"),
        record(7, ["cocoa"], title="NOT USED", split="NOT-USED"),
        record(8, ["cocoa"], split="TEST", title="COCOA TEST"),
        record(9, ["money-fx", "tea"], split="TEST", title="FX TEST"),
        record(10, ["tea"], split="TEST", title="TEA ONLY"),  # tea is test-only -> dropped
        record(11, ["cocoa"], split="TEST", title=None, body=None, unproc="UNPROC COCOA TABLE"),
    )
    return reuters.load(write_tiny_set(tmp_path / "reuters21578", first))


def test_load_modapte_split(tiny_corpus):
    assert tiny_corpus.train["id"].to_pylist() == ["1", "2", "5"]
    assert tiny_corpus.test["id"].to_pylist() == ["8", "9", "11"]
    stats = tiny_corpus.stats
    assert stats["documents_read"] == 11 + 21
    assert stats["outside_modapte"] == 2 + 21  # TOPICS="NO", LEWISSPLIT="NOT-USED", other files
    assert stats["splits"]["train"]["read"] == 5 and stats["splits"]["test"]["read"] == 4


def test_load_restricts_labels_to_r90(tiny_corpus):
    assert tiny_corpus.train["labels"].to_pylist() == [["cocoa"], ["cocoa"], ["money-fx"]]
    assert tiny_corpus.test["labels"].to_pylist() == [["cocoa"], ["money-fx"], ["cocoa"]]
    assert tiny_corpus.stats["label_set"] == "R2"
    assert tiny_corpus.stats["splits"]["train"]["dropped"] == {"no R90 label": 1, "no labels": 1}
    assert tiny_corpus.stats["splits"]["test"]["dropped"] == {"no R90 label": 1}


def test_load_texts(tiny_corpus):
    texts = dict(zip(tiny_corpus.test["id"].to_pylist(), tiny_corpus.test["text"].to_pylist()))
    assert texts["8"] == "COCOA TEST\nBody text Reuter"
    assert texts["11"] == "UNPROC COCOA TABLE"


def test_load_labels_table(tiny_corpus):
    assert tiny_corpus.labels.schema == schemas.SCHEMAS["labels"]
    assert tiny_corpus.labels.to_pylist() == [
        {"label": "cocoa", "description": "cocoa", "parent": "group:commodity", "train_count": 2, "test_count": 2},
        {
            "label": "money-fx",
            "description": "Money/Foreign Exchange",
            "parent": "group:subject",
            "train_count": 1,
            "test_count": 1,
        },
        {"label": "group:commodity", "description": "Commodity", "parent": None, "train_count": 0, "test_count": 0},
        {"label": "group:subject", "description": "Subject", "parent": None, "train_count": 0, "test_count": 0},
    ]


def test_load_r90_code_missing_from_the_category_notes(tmp_path):
    first = sgm(record(1, ["cocoa", "zinc"]), record(2, ["cocoa", "zinc"], split="TEST"))
    folder = write_tiny_set(tmp_path, first)
    with pytest.raises(DataError) as exc:
        reuters.load(folder)
    assert str(exc.value).startswith(str(folder / reuters.CAT_FILE))
    assert "['zinc']" in str(exc.value)


def test_load_missing_file(tmp_path):
    folder = write_tiny_set(tmp_path, sgm(record(1, ["cocoa"]), record(2, ["cocoa"], split="TEST")))
    (folder / "reut2-013.sgm").unlink()
    with pytest.raises(FileNotFoundError, match="reut2-013.sgm"):
        reuters.load(folder)


# --- the real data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(real_data_dir):
    folder = real_data_dir / "reuters21578"
    if not (folder / reuters.CAT_FILE).is_file():
        pytest.skip(f"no Reuters-21578 files in {folder}")
    return reuters.load(folder)


def test_real_modapte_sizes(real):
    assert real.stats["documents_read"] == 21578
    assert len(real.train) == 7770
    assert len(real.test) == 3019
    assert real.stats["label_set"] == "R90"


def test_real_has_90_target_labels(real):
    rows = real.labels.to_pylist()
    targets = [r for r in rows if r["train_count"] or r["test_count"]]
    assert len(targets) == 90
    assert all(r["train_count"] > 0 and r["test_count"] > 0 for r in targets)
    assert real.stats["labels"]["targets"] == 90
    used = {lab for labs in real.train["labels"].to_pylist() + real.test["labels"].to_pylist() for lab in labs}
    assert used == {r["label"] for r in targets}


def test_real_labels_have_descriptions_and_group_parents(real):
    rows = {r["label"]: r for r in real.labels.to_pylist()}
    targets = [r for r in rows.values() if r["train_count"] or r["test_count"]]
    for r in targets:
        assert r["description"].strip(), r
        assert r["parent"] is not None, r
        assert r["parent"].startswith("group:"), r
        assert rows[r["parent"]]["parent"] is None
        assert rows[r["parent"]]["description"].strip()
    assert rows["money-fx"]["description"] == "Money/Foreign Exchange"
    assert rows["earn"]["parent"] == "group:corporate"
    groups = {r["label"] for r in rows.values() if r["label"].startswith("group:")}
    assert set(rows) == {r["label"] for r in targets} | groups


def test_real_texts_are_clean(real):
    texts = real.train["text"].to_pylist()
    assert texts[0].startswith("BAHIA COCOA REVIEW\nShowers continued throughout the week in the Bahia cocoa zone")
    assert not any("&lt;" in t or "&#" in t or "<BODY>" in t for t in texts)
    assert real.train["labels"].to_pylist()[0] == ["cocoa"]


def test_all_texts_reads_every_story_labelled_or_not(tmp_path):
    first = sgm(
        record(1, ["cocoa"], body="Cocoa rains"),
        record(2, [], split="NOT-USED", has_topics="NO", body="Unlabelled story"),
        record(3, ["tea"], split="TEST", body="Tea prices"),
        record(4, ["tea"], unproc=""),  # no text at all: skipped
    )
    folder = write_tiny_set(tmp_path, first)
    texts = reuters.all_texts(folder)
    assert len(texts) == 3 + 21  # the three stories with text, and one record in each other file
    assert texts[:3] == ["Title\nCocoa rains Reuter", "Title\nUnlabelled story Reuter", "Title\nTea prices Reuter"]


def test_real_all_texts_holds_every_story_with_text(real_data_dir):
    folder = real_data_dir / "reuters21578"
    if not (folder / reuters.CAT_FILE).is_file():
        pytest.skip(f"no Reuters-21578 files in {folder}")
    texts = reuters.all_texts(folder)
    assert len(texts) == 21577  # 21,578 records, one of which has no text
    assert texts[0].startswith("BAHIA COCOA REVIEW")
