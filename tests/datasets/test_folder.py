"""The `folder` dataset: users' own data as JSON lines or XML-repository raw text."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipeline import schemas
from pipeline.data import datasets, folder
from pipeline.errors import DataError
from tests.tiny import DESCRIPTIONS, TOPICS, make_docs, write_folder_dataset


def write_jsonl(path: Path, records) -> Path:
    """Write records (dicts, or raw strings written as they are) one per line."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def jsonl_folder(tmp_path: Path, train, test) -> Path:
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "test.jsonl", test)
    return tmp_path


def doc(id_, text="some words here", labels=("a",)):
    return {"id": id_, "text": text, "labels": list(labels)}


GOOD_TEST = [doc("te1", labels=["a"])]


def raises_at(path: Path, line: int | None = None) -> str:
    """The start of a DataError message naming ``path`` (and ``line``)."""
    return f"{path}, line {line}: " if line is not None else f"{path}: "


# --- layouts -----------------------------------------------------------------


@pytest.mark.parametrize("layout", ["jsonl", "xmlrepo"])
def test_layout_loads_to_the_common_schema(tmp_path, layout):
    write_folder_dataset(tmp_path, n_train=30, n_test=10, layout=layout)
    corpus = folder.load(tmp_path, layout)
    assert corpus.train.schema == schemas.SCHEMAS["documents"]
    assert corpus.test.schema == schemas.SCHEMAS["documents"]
    assert corpus.labels.schema == schemas.SCHEMAS["labels"]
    assert (len(corpus.train), len(corpus.test)) == (30, 10)
    expected = make_docs(30, 0, "tr")
    assert corpus.train["text"].to_pylist() == [d["text"] for d in expected]
    assert corpus.train["labels"].to_pylist() == [d["labels"] for d in expected]
    ids = corpus.train["id"].to_pylist()
    assert ids == ([d["id"] for d in expected] if layout == "jsonl" else [f"train-{i}" for i in range(1, 31)])
    assert corpus.test["id"].to_pylist()[0] == ("te0" if layout == "jsonl" else "test-1")
    assert corpus.stats["layout"] == layout


def test_both_layouts_give_the_same_labels_table(tmp_path):
    a = folder.load(write_folder_dataset(tmp_path / "a", layout="jsonl"))
    b = folder.load(write_folder_dataset(tmp_path / "b", layout="xmlrepo"))
    assert a.labels.to_pylist() == b.labels.to_pylist()
    assert a.train["labels"].to_pylist() == b.train["labels"].to_pylist()
    assert a.test["text"].to_pylist() == b.test["text"].to_pylist()


def test_labels_table_has_descriptions_parents_and_counts(tmp_path):
    corpus = folder.load(write_folder_dataset(tmp_path, n_train=60, n_test=20))
    rows = {r["label"]: r for r in corpus.labels.to_pylist()}
    assert set(rows) == set(DESCRIPTIONS)  # six topics and their three parents
    for label, (parent, _) in TOPICS.items():
        assert rows[label]["parent"] == parent
        assert rows[label]["description"] == DESCRIPTIONS[label]
        assert rows[parent]["parent"] is None
        assert rows[parent]["train_count"] == 0  # parents are not labels of documents
    train_docs, test_docs = make_docs(60, 0, "tr"), make_docs(20, 1, "te")
    for label in TOPICS:
        assert rows[label]["train_count"] == sum(label in d["labels"] for d in train_docs)
        assert rows[label]["test_count"] == sum(label in d["labels"] for d in test_docs)
    counts = corpus.labels["train_count"].to_pylist()
    assert counts == sorted(counts, reverse=True)  # most frequent first


def test_auto_detects_the_layout(tmp_path):
    assert folder.load(write_folder_dataset(tmp_path / "j", layout="jsonl")).stats["layout"] == "jsonl"
    assert folder.load(write_folder_dataset(tmp_path / "x", layout="xmlrepo")).stats["layout"] == "xmlrepo"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither train.jsonl nor train_texts.txt"):
        folder.load(tmp_path / "empty")


def test_load_through_the_registry(tmp_path):
    write_folder_dataset(tmp_path, n_train=10, n_test=5)
    corpus = datasets.load("folder", {"path": str(tmp_path)})
    assert (len(corpus.train), len(corpus.test)) == (10, 5)
    with pytest.raises(DataError, match="needs a path"):
        datasets.load("folder", {})


def test_bad_layout_and_missing_folder(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        folder.load(tmp_path / "nope")
    with pytest.raises(DataError, match="layout must be one of"):
        folder.load(write_folder_dataset(tmp_path / "d"), "csv")


def test_description_falls_back_to_the_label_name(tmp_path):
    jsonl_folder(
        tmp_path,
        [doc("1", labels=["sports", "big_cats"]), doc("2", labels=["sports"])],
        [doc("3", labels=["sports"])],
    )
    (tmp_path / "label_descriptions.tsv").write_text("other\tSomething Else\n")
    rows = {r["label"]: r for r in folder.load(tmp_path).labels.to_pylist()}
    assert rows["sports"]["description"] == "sports"
    assert rows["big_cats"]["description"] == "big cats"
    assert "other" not in rows  # descriptions of unused labels do not add labels


def test_xmlrepo_lines_may_hold_form_feeds_and_line_separators(tmp_path):
    (tmp_path / "train_texts.txt").write_text("page one\x0cpage two\nleft\u2028right\r\n", encoding="utf-8")
    (tmp_path / "train_labels.txt").write_text("a b\nb\r\n")
    (tmp_path / "test_texts.txt").write_text("x\x1cy\n")
    (tmp_path / "test_labels.txt").write_text("a\n")
    corpus = folder.load(tmp_path)
    assert corpus.train["text"].to_pylist() == ["page one\x0cpage two", "left\u2028right"]
    assert corpus.train["labels"].to_pylist() == [["a", "b"], ["b"]]
    assert corpus.test["text"].to_pylist() == ["x\x1cy"]


# --- dropped documents ---------------------------------------------------------


def test_documents_without_text_or_labels_are_dropped_and_counted(tmp_path, caplog):
    train = [
        doc("1"),
        doc("2", text=""),
        doc("3", text="   "),
        doc("4", text=None),
        doc("5", labels=[]),
        doc("7", labels=["a", "a", "b"]),
    ]
    test = [doc("t1"), doc("t2", labels=[])]
    with caplog.at_level(logging.WARNING):
        corpus = folder.load(jsonl_folder(tmp_path, train, test))
    assert corpus.train["id"].to_pylist() == ["1", "7"]
    assert corpus.train["labels"].to_pylist() == [["a"], ["a", "b"]]  # duplicates removed
    assert corpus.stats["splits"]["train"] == {"read": 6, "kept": 2, "dropped": {"no labels": 1, "no text": 3}}
    assert corpus.stats["splits"]["test"] == {"read": 2, "kept": 1, "dropped": {"no labels": 1}}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "folder/train: dropped 3 document(s): no text" in warnings
    assert "folder/train: dropped 1 document(s): no labels" in warnings
    assert "folder/test: dropped 1 document(s): no labels" in warnings


def test_xmlrepo_blank_lines_are_dropped_and_counted(tmp_path):
    (tmp_path / "train_texts.txt").write_text("good text\n\nmore text\nlast\n")
    (tmp_path / "train_labels.txt").write_text("a\nb\n\na b\n")
    (tmp_path / "test_texts.txt").write_text("t\n")
    (tmp_path / "test_labels.txt").write_text("a\n")
    corpus = folder.load(tmp_path)
    assert corpus.train["id"].to_pylist() == ["train-1", "train-4"]
    assert corpus.stats["splits"]["train"]["dropped"] == {"no labels": 1, "no text": 1}


# --- bad inputs ------------------------------------------------------------------------


def test_malformed_json_names_file_and_line(tmp_path):
    jsonl_folder(tmp_path, [doc("1"), "", '{"id": "2", "text": "x", "labels": ["a"]'], GOOD_TEST)
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "train.jsonl", 3))
    assert "malformed JSON" in str(exc.value)


@pytest.mark.parametrize("name", ["train_texts.txt", "train_labels.txt"])
def test_xmlrepo_file_not_in_utf8_names_file_and_line(tmp_path, name):
    for f, content in {
        "train_texts.txt": "one\ntwo\n",
        "train_labels.txt": "a\nb\n",
        "test_texts.txt": "t\n",
        "test_labels.txt": "a\n",
    }.items():
        (tmp_path / f).write_text(content)
    (tmp_path / name).write_bytes((tmp_path / name).read_bytes() + "caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / name, 3)) and "not UTF-8 text" in str(exc.value)


@pytest.mark.parametrize(
    "record, says",
    [
        ({"id": "2", "text": "x"}, "the record has no 'labels' field"),
        ({"text": "x", "labels": []}, "the record has no 'id' field"),
        ({"labels": ["a"]}, "the record has no 'id' and no 'text' field"),
        (["2", "x", ["a"]], 'expected a JSON object {"id": ..., "text": ..., "labels": [...]}, got ["2", "x", ["a"]]'),
    ],
)
def test_record_missing_keys_names_them_the_file_and_line(tmp_path, record, says):
    jsonl_folder(tmp_path, [doc("1")], GOOD_TEST + [record])
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value) == raises_at(tmp_path / "test.jsonl", 2) + says


@pytest.mark.parametrize("labels", ["a b", None, {"a": 1}, 3])
def test_labels_not_a_list_names_file_and_line(tmp_path, labels):
    jsonl_folder(tmp_path, [doc("1"), {"id": "2", "text": "x", "labels": labels}], GOOD_TEST)
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "train.jsonl", 2))
    assert "'labels' must be a list" in str(exc.value)


def test_texts_and_labels_line_counts_differ(tmp_path):
    write_folder_dataset(tmp_path, n_train=5, n_test=3, layout="xmlrepo")
    (tmp_path / "test_labels.txt").write_text("football\ntennis\n")
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    msg = str(exc.value)
    assert msg.startswith(raises_at(tmp_path / "test_texts.txt", 3))  # the first text without labels
    assert "test_texts.txt has 3 lines but test_labels.txt has 2" in msg


def test_duplicate_id_within_a_split(tmp_path):
    jsonl_folder(tmp_path, [doc("1"), doc("2"), doc("1")], GOOD_TEST)
    train = tmp_path / "train.jsonl"
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(train, 3))
    assert f"duplicate id '1' (first seen in {train}, line 1)" in str(exc.value)


def test_duplicate_id_across_train_and_test(tmp_path):
    jsonl_folder(tmp_path, [doc("1"), doc("shared")], [doc("t"), doc("shared")])
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "test.jsonl", 2))
    assert f"duplicate id 'shared' (first seen in {tmp_path / 'train.jsonl'}, line 2)" in str(exc.value)


def test_hierarchy_cycle(tmp_path):
    write_folder_dataset(tmp_path, n_train=5, n_test=3)
    (tmp_path / "hierarchy.tsv").write_text("football\tsports\nsports\tleisure\nleisure\tsports\n")
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "hierarchy.tsv", 2))
    assert "cycle: sports -> leisure -> sports" in str(exc.value)


def test_label_with_two_parents(tmp_path):
    write_folder_dataset(tmp_path, n_train=5, n_test=3)
    hier = tmp_path / "hierarchy.tsv"
    hier.write_text("football\tsports\ntennis\tsports\n\nfootball\tleisure\n")
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    msg = str(exc.value)
    assert msg.startswith(raises_at(hier, 4))
    assert f"'football' has two parents: 'sports' ({hier}, line 1) and 'leisure'" in msg


def test_malformed_descriptions_line(tmp_path):
    write_folder_dataset(tmp_path, n_train=5, n_test=3)
    desc = tmp_path / "label_descriptions.tsv"
    desc.write_text("football\tFootball\ntennis Lawn Tennis\n")
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(desc, 2))


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_jsonl_file_names_the_file(tmp_path, content):
    jsonl_folder(tmp_path, [doc("1")], [])
    (tmp_path / "test.jsonl").write_text(content)
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "test.jsonl"))
    assert "test split is empty" in str(exc.value)


def test_empty_xmlrepo_files_name_the_file(tmp_path):
    write_folder_dataset(tmp_path, n_train=5, n_test=3, layout="xmlrepo")
    (tmp_path / "train_texts.txt").write_text("")
    (tmp_path / "train_labels.txt").write_text("")
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "train_texts.txt"))
    assert "train split is empty" in str(exc.value)


def test_split_where_every_document_is_dropped(tmp_path):
    jsonl_folder(tmp_path, [doc("1")], [doc("t1", text=""), doc("t2", labels=[])])
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "test.jsonl"))
    assert "test split of folder is empty after cleaning (read 2)" in str(exc.value)


def test_missing_split_file(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [doc("1")])
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "test.jsonl"))


# --- dataset names ---------------------------------------------------------------------------


def test_unknown_dataset_name_lists_the_known_ones():
    for call in (lambda: datasets.check_name("reuters"), lambda: datasets.load("reuters")):
        with pytest.raises(DataError) as exc:
            call()
        msg = str(exc.value)
        assert "unknown dataset 'reuters'" in msg
        assert "reuters21578, rcv1-v2-subset, folder" in msg


def test_known_names_pass_check_name():
    for name in datasets.DATASETS:
        datasets.check_name(name)


def test_more_labels_lines_than_texts_points_at_the_labels_file(tmp_path):
    write_folder_dataset(tmp_path, n_train=5, n_test=2, layout="xmlrepo")
    (tmp_path / "test_labels.txt").write_text("football\ntennis\nfruit\n")
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "test_labels.txt", 3))


# --- nothing changed silently: every odd field named with its file and line --------------------


@pytest.mark.parametrize(
    "record, says",
    [
        ({"id": "2", "text": "x", "labels": [7]}, "a label must be a string, got 7 in 'labels' [7]"),
        ({"id": "2", "text": "x", "labels": [True]}, "a label must be a string, got true in 'labels' [true]"),
        ({"id": "2", "text": "x", "labels": ["a", 3.5]}, "a label must be a string, got 3.5"),
        ({"id": "2", "text": "x", "labels": [None, "a"]}, "a label must be a string, got null"),
        ({"id": "2", "text": "x", "labels": ["a", ""]}, 'an empty label "" in \'labels\' ["a", ""]'),
        ({"id": "2", "text": "x", "labels": ["  "]}, 'an empty label "  "'),
        ({"id": "2", "text": "x", "labels": ["football "]}, 'label "football " has spaces around it'),
        ({"id": "2", "text": "x", "labels": [" football"]}, 'would be another label than "football"'),
        ({"id": "2", "text": 5, "labels": ["a"]}, "'text' must be a string, got 5"),
        ({"id": None, "text": "x", "labels": ["a"]}, "'id' must be a non-empty string or a whole number, got null"),
        ({"id": 2.5, "text": "x", "labels": ["a"]}, "'id' must be a non-empty string or a whole number, got 2.5"),
        ({"id": "", "text": "x", "labels": ["a"]}, "'id' must be a non-empty string"),
    ],
)
def test_an_odd_field_is_refused_not_converted_or_dropped(tmp_path, record, says):
    jsonl_folder(tmp_path, [doc("1"), record], GOOD_TEST)
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(tmp_path / "train.jsonl", 2)) and says in str(exc.value)


def test_a_folder_with_both_layouts_must_say_which(tmp_path):
    write_folder_dataset(tmp_path, n_train=6, n_test=2, layout="jsonl")
    write_folder_dataset(tmp_path, n_train=6, n_test=2, layout="xmlrepo")
    with pytest.raises(DataError, match=r"holds both layouts \(train.jsonl and train_texts.txt\); say which"):
        folder.load(tmp_path)
    assert folder.load(tmp_path, "jsonl").stats["layout"] == "jsonl"  # said: read


@pytest.mark.parametrize("name", ["hierarchy.tsv", "label_descriptions.tsv", "train.jsonl", "test.jsonl"])
def test_a_utf8_byte_order_mark_is_dropped_not_read_into_the_first_record(tmp_path, name):
    write_folder_dataset(tmp_path, n_train=20, n_test=6, layout="jsonl")
    plain = folder.load(tmp_path)
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    marked = folder.load(tmp_path)
    assert marked.labels.to_pylist() == plain.labels.to_pylist()  # parents and descriptions as without the mark
    assert marked.train["id"].to_pylist() == plain.train["id"].to_pylist()


@pytest.mark.parametrize("encoding, mark", [("utf-16", b""), ("utf-16-be", b"\xfe\xff"), ("utf-32", b"")])
@pytest.mark.parametrize("name", ["hierarchy.tsv", "train_labels.txt"])
def test_a_utf16_or_utf32_file_is_named_in_one_line(tmp_path, encoding, mark, name):
    write_folder_dataset(tmp_path, n_train=20, n_test=6, layout="xmlrepo")
    path = tmp_path / name
    path.write_bytes(mark + path.read_text(encoding="utf-8").encode(encoding))
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(path, 1)) and "save it as UTF-8" in str(exc.value)


@pytest.mark.parametrize("name", ["hierarchy.tsv", "label_descriptions.tsv"])
def test_a_tsv_file_not_in_utf8_names_file_and_line(tmp_path, name):
    write_folder_dataset(tmp_path, n_train=20, n_test=6, layout="jsonl")
    path = tmp_path / name
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1] + "caf\u00e9".encode("latin-1")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(path, 2)) and "not UTF-8 text" in str(exc.value)


def test_labels_in_test_only_and_once_in_train_are_counted_and_explained(tmp_path, caplog):
    train = [doc("1", labels=["a"]), doc("2", labels=["a", "b"]), doc("3", labels=["a"])]
    test = [doc("t1", labels=["a", "new"]), doc("t2", labels=["other"])]
    with caplog.at_level(logging.INFO):
        corpus = folder.load(jsonl_folder(tmp_path, train, test))
    assert corpus.stats["labels"]["test_only"] == 2 and corpus.stats["labels"]["once_in_train"] == 1  # b
    messages = [r.getMessage() for r in caplog.records]
    assert any("2 label(s) occur in test texts only: no method can predict them" in m for m in messages)
    assert any("1 label(s) occur in one train text only" in m for m in messages)


def test_utf16_without_a_byte_order_mark_is_caught_at_its_first_nul_byte(tmp_path):
    write_folder_dataset(tmp_path, n_train=20, n_test=6, layout="xmlrepo")
    path = tmp_path / "train_labels.txt"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16-le"))  # no mark: it would decode as UTF-8
    with pytest.raises(DataError) as exc:
        folder.load(tmp_path)
    assert str(exc.value).startswith(raises_at(path, 1)) and "a NUL byte at byte 1: UTF-16 or UTF-32" in str(exc.value)


def test_a_label_with_two_descriptions_is_refused_naming_both_lines(tmp_path):
    write_folder_dataset(tmp_path, n_train=20, n_test=6, layout="jsonl")
    path = tmp_path / "label_descriptions.tsv"
    first = path.read_text().splitlines()[0].split("\t")[0]
    path.write_text(path.read_text() + f"{first}\tsomething else\n")
    with pytest.raises(DataError, match=rf"label '{first}' has two descriptions: .* \(line 1\) and 'something else'"):
        folder.load(tmp_path)
