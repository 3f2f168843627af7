"""The one reader of users' one-record-per-line files (pipeline/textfile.py)."""

from __future__ import annotations

import pytest

from pipeline.data.textfile import iter_lines, read_json_lines, read_json_texts, read_lines
from pipeline.errors import DataError


def test_lines_split_on_newlines_only(tmp_path):
    f = tmp_path / "t.txt"
    f.write_bytes("one\r\npage\x0cbreak\nleft\u2028right\nlone\rcarriage\n\nlast".encode("utf-8"))
    # \r\n ends a line like \n; form feeds, U+2028 and a lone \r stay inside their line; a blank line is kept
    assert read_lines(f) == ["one", "page\x0cbreak", "left\u2028right", "lone\rcarriage", "", "last"]


@pytest.mark.parametrize("content, lines", [("", []), ("\n", [""]), ("a\n", ["a"]), ("a", ["a"]), ("a\n\n", ["a", ""])])
def test_a_final_newline_ends_the_last_line_and_starts_none(tmp_path, content, lines):
    f = tmp_path / "t.txt"
    f.write_text(content, encoding="utf-8", newline="")
    assert read_lines(f) == lines


def test_a_file_not_in_utf8_is_reported_at_its_first_bad_line(tmp_path):
    f = tmp_path / "t.txt"
    f.write_bytes("fine\nalso fine\ncaf\u00e9\nna\u00efve\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"t.txt, line 3: not UTF-8 text \(invalid continuation byte at byte 18\)"):
        read_lines(f)


def test_lines_are_read_one_at_a_time(tmp_path):
    f = tmp_path / "t.txt"
    f.write_bytes(b"first\nsecond\n\xff\n")
    lines = iter_lines(f)
    assert (next(lines), next(lines)) == ("first", "second")  # the bad third line is not read yet
    with pytest.raises(DataError, match=r"t.txt, line 3: not UTF-8 text \(invalid start byte at byte 13\)"):
        next(lines)


def test_json_lines_skip_blank_lines_and_keep_line_numbers(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text('{"a": 1}\n\n   \n["x"]\r\n"s"\n', encoding="utf-8")
    assert list(read_json_lines(f)) == [(1, {"a": 1}), (4, ["x"]), (5, "s")]


def test_malformed_json_is_reported_with_its_line_and_column(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text('{"a": 1}\n\n{"a": \n', encoding="utf-8")
    rows = read_json_lines(f)
    assert next(rows) == (1, {"a": 1})
    with pytest.raises(DataError, match=r"t.jsonl, line 3: malformed JSON \(Expecting value at column 7\)"):
        next(rows)


@pytest.mark.parametrize(
    "record, message",
    [
        ('{"id": 3}', "expected a JSON object with a 'text' field"),
        ('["a list"]', "expected a JSON object with a 'text' field"),
        ('{"text": 12}', "the 'text' field is not a string: 12"),
        ('{"text": null}', "the 'text' field is not a string: null"),
    ],
)
def test_json_texts_report_a_record_without_a_text_string_at_its_line(tmp_path, record, message):
    f = tmp_path / "t.jsonl"
    f.write_text('{"id": "a", "text": "first"}\n\n' + record + "\n", encoding="utf-8")
    rows = read_json_texts(f)
    assert next(rows) == (1, {"id": "a", "text": "first"}, "first")
    with pytest.raises(DataError, match=rf"t.jsonl, line 3: {message}$"):
        next(rows)
