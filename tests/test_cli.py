"""`treader` (pipeline/cli.py) as a user meets it: help, predict, inspect, fetch; errors exit 2 in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.test_predict import build_models

runner = CliRunner()


def flat(s: str) -> str:
    """Help text without the box drawing and line wrapping of the terminal renderer."""
    for ch in "│╭╮╰╯─":
        s = s.replace(ch, " ")
    return " ".join(s.split())


def treader(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_models(tmp_path_factory)["model"]


@pytest.fixture(scope="module")
def labels(model) -> set[str]:
    table = pq.read_table(model / "labels.parquet")
    return set(table.filter(pc.greater(table["train_count"], 0))["label"].to_pylist())  # the model's outputs


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


# --- help ------------------------------------------------------------------------------------------


def test_treader_help_lists_the_commands():
    env = dict(os.environ, COLUMNS="120", PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    res = subprocess.run(["treader", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    for command in ("datasets", "fetch", "inspect", "predict", "table", "compare", "synth"):
        assert command in res.stdout
    assert "dvc repro" in flat(res.stdout)


def test_predict_help_explains_the_inputs():
    res = treader("predict", "--help")
    assert res.exit_code == 0
    text = flat(res.output)
    for words in (
        "A trained model directory",
        "One text to label",
        "--file",
        "one text per line",
        "--jsonl",
        '{"id": ..., "text": ...}',
        "--output",
        "--k",
        "How many labels",
    ):
        assert words in text, words


def test_datasets_lists_the_builtin_datasets():
    res = treader("datasets")
    assert res.exit_code == 0
    assert [line.split()[0] for line in res.output.splitlines()] == ["reuters21578", "rcv1-v2-subset", "folder"]


# --- predict -----------------------------------------------------------------------------------------


def test_predict_one_text_argument(model, labels):
    res = treader("predict", model, "apple banana orange juice harvest", "--device", "cpu")
    assert res.exit_code == 0, res.output
    (row,) = lines(res.stdout)
    assert row["id"] == 0 and len(row["labels"]) == len(row["scores"]) == 5  # --k defaults to 5
    assert set(row["labels"]) <= labels
    assert row["scores"] == sorted(row["scores"], reverse=True)


def test_predict_file_numbers_lines_from_one(model, tmp_path):
    f = tmp_path / "texts.txt"
    f.write_text("goal striker match\ncode compiler bug\nbread oven flour\n")
    res = treader("predict", model, "--file", f, "--k", "2")
    assert res.exit_code == 0, res.output
    rows = lines(res.stdout)
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert all(len(r["labels"]) == len(r["scores"]) == 2 for r in rows)


def test_predict_jsonl_keeps_the_given_ids(model, tmp_path):
    f = tmp_path / "texts.jsonl"
    f.write_text(
        '{"id": "doc-a", "text": "racket serve volley"}\n\n{"id": 42, "text": "chip memory cpu"}\n'
        '{"text": "no id here"}\n'
    )
    res = treader("predict", model, "--jsonl", f, "--k", "3")
    assert res.exit_code == 0, res.output
    rows = lines(res.stdout)
    assert [r["id"] for r in rows] == ["doc-a", 42, 4]  # a record without an id gets its line number
    assert all(len(r["labels"]) == 3 for r in rows)


def test_predict_splits_files_on_newlines_only(model, tmp_path):
    """A form feed or U+2028 inside a text (common in extracted text, valid in JSON) is not a line break."""
    f = tmp_path / "texts.txt"
    f.write_text("goal\fstriker\r\nbread\u2028oven\nchip\n", encoding="utf-8")
    res = treader("predict", model, "--file", f, "--k", "1")
    assert res.exit_code == 0, res.output
    assert [r["id"] for r in lines(res.stdout)] == [1, 2, 3]
    j = tmp_path / "texts.jsonl"
    j.write_text(
        json.dumps({"id": "x", "text": "goal\u2028striker\fmatch"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    assert "\u2028" in j.read_text(encoding="utf-8")  # written raw, as json.dumps(ensure_ascii=False) does
    res = treader("predict", model, "--jsonl", j, "--k", "1")
    assert res.exit_code == 0, res.output
    assert [r["id"] for r in lines(res.stdout)] == ["x"]


def test_predict_lift_parents_takes_auto_on_off_and_refuses_the_rest(model):
    for mode in ("auto", "on", "off"):
        res = treader("predict", model, "goal striker match", "--k", "2", "--lift-parents", mode)
        assert res.exit_code == 0, res.output
    res = treader("predict", model, "goal striker match", "--lift-parents", "sometimes")
    assert res.exit_code == 2
    assert (
        res.stderr.startswith("error: lift_parents must be auto, on or off")
        and len(res.stderr.strip().splitlines()) == 1
    )


def test_predict_file_not_in_utf8_names_the_line(model, tmp_path):
    f = tmp_path / "texts.txt"
    f.write_bytes("goal striker\ncaf\u00e9 au lait\n".encode("latin-1"))
    res = treader("predict", model, "--file", f)
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: {f}, line 2: not UTF-8 text")
    assert len(res.stderr.strip().splitlines()) == 1


def test_predict_matches_the_library(model, tmp_path):
    from pipeline.engine.predict import Predictor

    texts = ["goal striker match", "apple banana", "bread oven flour sugar"]
    f = tmp_path / "texts.txt"
    f.write_text("\n".join(texts) + "\n")
    rows = lines(treader("predict", model, "--file", f, "--k", "4", "--device", "cpu").stdout)
    preds = Predictor.load(model, "cpu").predict(texts, k=4)
    assert [(r["labels"], r["scores"]) for r in rows] == [(p.labels, p.scores) for p in preds]


def test_predict_output_writes_one_json_line_per_text(model, tmp_path):
    f = tmp_path / "texts.txt"
    f.write_text("goal striker\nbread oven\n")
    out = tmp_path / "out" / "predictions.jsonl"
    res = treader("predict", model, "--file", f, "--output", out, "--k", "1")
    assert res.exit_code == 0, res.output
    assert res.stdout == ""  # the predictions go to the file, not the screen
    assert f"wrote 2 predictions to {out}" in res.stderr
    text = out.read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 2
    assert [r["id"] for r in lines(text)] == [1, 2] and all(len(r["labels"]) == 1 for r in lines(text))
    assert [p.name for p in out.parent.iterdir()] == ["predictions.jsonl"]  # no temporary file left behind


def test_predict_output_is_replaced_whole_or_not_at_all(model, tmp_path):
    f = tmp_path / "texts.txt"
    f.write_text("goal striker\n")
    out = tmp_path / "predictions.jsonl"
    out.write_text("old content\n" * 50)
    assert treader("predict", model, "--file", f, "-o", out).exit_code == 0
    assert len(lines(out.read_text())) == 1  # replaced, not appended to or partly overwritten
    before = out.read_text()
    res = treader("predict", tmp_path / "nosuch-model", "--file", f, "-o", out)
    assert res.exit_code == 2
    assert out.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions.jsonl", "texts.txt"]


@pytest.mark.parametrize("k", ["1", "6", "50"])
def test_predict_respects_k(model, labels, k):
    res = treader("predict", model, "tennis court", "--k", k)
    assert res.exit_code == 0, res.output
    (row,) = lines(res.stdout)
    assert len(row["labels"]) == min(int(k), len(labels))


def test_predict_k_below_one_is_refused(model):
    res = treader("predict", model, "tennis court", "--k", "0")
    assert res.exit_code == 2


@pytest.mark.parametrize("how", ["none", "text+file", "file+jsonl"])
def test_predict_needs_exactly_one_input(model, tmp_path, how):
    f = tmp_path / "texts.txt"
    f.write_text("goal\n")
    args = {"none": [], "text+file": ["some text", "--file", f], "file+jsonl": ["--file", f, "--jsonl", f]}[how]
    res = treader("predict", model, *args)
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == "error: give exactly one of: a TEXT argument, --file, --jsonl\n"


def test_predict_malformed_jsonl_names_file_and_line(model, tmp_path):
    f = tmp_path / "texts.jsonl"
    f.write_text('{"id": 1, "text": "goal"}\n{"id": 2, "text": "oven"\n')
    res = treader("predict", model, "--jsonl", f)
    assert res.exit_code == 2
    assert res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith(f"error: {f}, line 2: ")
    assert res.exception is None or isinstance(res.exception, SystemExit)  # no traceback


@pytest.mark.parametrize(
    "record", ['{"id": 3}', '["a list"]', '"just a string"', '{"id": 4, "text": null}', '{"id": 5, "text": 12}']
)
def test_predict_jsonl_record_without_text_names_the_line(model, tmp_path, record):
    f = tmp_path / "texts.jsonl"
    f.write_text('{"id": 1, "text": "goal"}\n' + record + "\n")
    res = treader("predict", model, "--jsonl", f)
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: {f}, line 2: ") and len(res.stderr.strip().splitlines()) == 1


def test_predict_missing_input_file_exits_2(model, tmp_path):
    res = treader("predict", model, "--file", tmp_path / "nosuch.txt")
    assert res.exit_code == 2
    assert res.stderr == f"error: {tmp_path / 'nosuch.txt'}: no such file\n"


def test_predict_missing_model_directory_exits_2(tmp_path):
    res = treader("predict", tmp_path / "nosuch", "some text")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith(f"error: {tmp_path / 'nosuch'}: not a trained model directory")
    assert len(res.stderr.strip().splitlines()) == 1


# --- inspect and fetch ---------------------------------------------------------------------------------


def test_inspect_prints_row_count_schema_and_rows(tmp_path):
    f = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "labels": [["x"], ["y", "z"], []]}), f)
    res = treader("inspect", f, "--rows", "2")
    assert res.exit_code == 0, res.output
    out = res.stdout.splitlines()
    assert out[0] == f"{f}: 3 rows"
    assert "id: string" in res.stdout and "labels: list<" in res.stdout
    rows = [json.loads(line) for line in out if line.startswith("{")]
    assert rows == [{"id": "a", "labels": ["x"]}, {"id": "b", "labels": ["y", "z"]}]


def test_inspect_missing_file_exits_2(tmp_path):
    res = treader("inspect", tmp_path / "nosuch.parquet")
    assert res.exit_code == 2
    assert res.stderr == f"error: {tmp_path / 'nosuch.parquet'}: no such file\n"


def test_fetch_unknown_dataset_lists_the_known_ones():
    res = treader("fetch", "nosuch")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == "error: unknown dataset 'nosuch'; known datasets: reuters21578, rcv1-v2-subset, folder\n"


def test_fetch_folder_says_there_is_nothing_to_download():
    res = treader("fetch", "folder")
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.startswith("error: the `folder` dataset is your own data: prepare reads folder.path")
    assert res.stderr.count("\n") == 1


def test_predict_with_a_corrupt_model_file_exits_2_in_one_line(model, tmp_path):
    import shutil

    copy = shutil.copytree(model, tmp_path / "model")
    (copy / "model.pt").write_bytes(b"not a torch file")
    res = treader("predict", copy, "some text", "--device", "cpu")
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.startswith(f"error: {copy / 'model.pt'}: cannot read this model file")
    assert res.stderr.count("\n") == 1


def test_predict_warns_about_a_text_without_a_known_word(model):
    res = treader("predict", model, "", "--device", "cpu")
    assert res.exit_code == 0
    assert len(lines(res.stdout)) == 1  # the output keeps its form
    assert res.stderr.startswith("warning: text 0 has no word the model knows: its labels reflect the training")
    known = treader("predict", model, "football match goal striker", "--device", "cpu")
    assert known.exit_code == 0 and "warning" not in known.stderr
