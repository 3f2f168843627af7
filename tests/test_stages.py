"""The stage scripts as a user meets them: outputs, one-line errors, exit code 2, no half-written artifact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml

from pipeline import schemas
from tests.tiny import write_folder_dataset

REPO = Path(__file__).resolve().parents[1]


def run_stage(name: str, params: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    pfile = tmp_path / "params.yaml"
    pfile.write_text(yaml.safe_dump(params))
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    extra = ["--models", str(tmp_path / "models"), "--live-dir", str(tmp_path / "dvclive")] if name == "train" else []
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "stages" / f"{name}.py"),
            "--params",
            str(pfile),
            "--data",
            str(tmp_path / "data"),
            *extra,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )


def folder_params(path: Path) -> dict:
    base = yaml.safe_load((REPO / "params.yaml").read_text())
    base["dataset"] = "folder"
    base["folder"]["path"] = str(path)
    base["tokenise"]["min_count"] = 1
    return base


def test_prepare_and_tokenise_write_their_artifacts(tmp_path):
    params = folder_params(write_folder_dataset(tmp_path / "src", n_train=30, n_test=10))
    for stage in ("prepare", "tokenise"):
        res = run_stage(stage, params, tmp_path)
        assert res.returncode == 0, res.stderr
    prep, tok = tmp_path / "data/folder/prepared", tmp_path / "data/folder/tokens"
    for f, schema in [("train.parquet", "documents"), ("test.parquet", "documents"), ("labels.parquet", "labels")]:
        assert pq.read_schema(prep / f).names == schemas.SCHEMAS[schema].names
    for f, schema in [("train.parquet", "tokens"), ("vocab.parquet", "vocab"), ("labels.parquet", "label_tokens")]:
        assert pq.read_schema(tok / f).names == schemas.SCHEMAS[schema].names
    stats = json.loads((prep / "stats.json").read_text())
    assert stats["splits"]["train"]["kept"] == 30 and stats["splits"]["test"]["kept"] == 10
    assert pq.read_table(tok / "train.parquet").num_rows == 30


def test_unknown_dataset_is_one_clear_line(tmp_path):
    params = folder_params(tmp_path)
    params["dataset"] = "imagenet"
    res = run_stage("prepare", params, tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert (
        res.stderr.strip() == "error: unknown dataset 'imagenet'; known datasets: reuters21578, rcv1-v2-subset, folder"
    )


def test_bad_input_leaves_previous_artifact_untouched(tmp_path):
    src = write_folder_dataset(tmp_path / "src", n_train=20, n_test=5)
    params = folder_params(src)
    assert run_stage("prepare", params, tmp_path).returncode == 0
    prepared = tmp_path / "data/folder/prepared"
    before = {p.name: p.read_bytes() for p in prepared.iterdir()}
    with open(src / "train.jsonl", "a") as f:
        f.write('{"id": "broken", "text": "no closing brace"\n')
    res = run_stage("prepare", params, tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert f"{src / 'train.jsonl'}, line 21: malformed JSON" in res.stderr
    assert {p.name: p.read_bytes() for p in prepared.iterdir()} == before
    assert [p.name for p in prepared.parent.iterdir()] == ["prepared"]  # no temporary leftovers


def test_tokenise_without_prepare_says_what_to_run(tmp_path):
    res = run_stage("tokenise", folder_params(tmp_path), tmp_path)
    assert res.returncode == 2
    assert "train.parquet: missing artifact (run the stage that writes it first)" in res.stderr


def test_unknown_reading_lists_the_valid_ones(tmp_path):
    params = folder_params(tmp_path)
    params["reading"] = "MHSA+MMHSA+R"
    res = run_stage("train", params, tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip() == (
        "error: unknown reading 'MHSA+MMHSA+R'; valid readings: "
        "none, MMHSA+R, MHSA+R, MHSA+R+MMHSA, MMHSA+MHSA, MMHSA+R+MHSA"
    )


def test_bad_training_setting_is_one_line(tmp_path):
    src = write_folder_dataset(tmp_path / "src", n_train=20, n_test=5)
    params = folder_params(src)
    params["train"]["device"] = "gpu"
    params["embed"].update(dim=8, epochs=1)
    for stage in ("prepare", "tokenise", "embed", "neighbours", "teacher"):
        assert run_stage(stage, params, tmp_path).returncode == 0
    res = run_stage("train", params, tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().endswith(
        "error: invalid training setting: train.device must be auto, cpu, cuda or cuda:N; got 'gpu'"
    )


def test_embed_reads_extra_text_through_the_vocabulary(tmp_path):
    """`embed.extra_text`: word2vec also reads the extra texts (counted in stats.json), and the vectors change.

    The extra file puts two words of different topics in the same contexts, again and again:
    with it their vectors end up far closer than without it.
    """
    params = folder_params(write_folder_dataset(tmp_path / "src", n_train=40, n_test=10))
    params["embed"].update(dim=16, epochs=5)
    for stage in ("prepare", "tokenise", "embed"):
        assert run_stage(stage, params, tmp_path).returncode == 0
    out = tmp_path / "data/folder/embed"
    plain = np.load(out / "embeddings.npy")
    stats = json.loads((out / "stats.json").read_text())
    assert stats["source"] == "word2vec on train" and stats["extra_text"] == []

    (tmp_path / "more.txt").write_text("goal striker zzznotaword oven match\ngoal oven match\n" * 300, encoding="utf-8")
    params["folder"]["embed"] = {"extra_text": [str(tmp_path / "more.txt")]}  # the dataset's own value
    res = run_stage("embed", params, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "extra text" in res.stdout and "600 texts, 2100 words in the vocabulary" in res.stdout
    stats = json.loads((out / "stats.json").read_text())
    assert stats["source"] == "word2vec on train + extra text"
    assert stats["extra_text"] == [{"source": str(tmp_path / "more.txt"), "texts": 600, "words": 2100}]
    more = np.load(out / "embeddings.npy")
    vocab = pq.read_table(tmp_path / "data/folder/tokens/vocab.parquet")["token"].to_pylist()
    a, b = vocab.index("striker"), vocab.index("oven")

    def cos(m):
        return float(m[a] @ m[b] / np.linalg.norm(m[a]) / np.linalg.norm(m[b]))

    assert cos(more) > cos(plain) + 0.3, (cos(plain), cos(more))


def test_embed_refuses_the_dataset_itself_as_extra_text(tmp_path):
    src = write_folder_dataset(tmp_path / "src", n_train=20, n_test=5)
    params = folder_params(src)
    params["embed"].update(dim=8, epochs=1, extra_text=[str(src)])
    for stage in ("prepare", "tokenise"):
        assert run_stage(stage, params, tmp_path).returncode == 0
    res = run_stage("embed", params, tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "names the dataset being trained on" in res.stderr
    assert not (tmp_path / "data/folder/embed").exists()


def test_embed_with_pretrained_vectors_says_extra_text_is_not_read(tmp_path):
    params = folder_params(write_folder_dataset(tmp_path / "src", n_train=20, n_test=5))
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("2 4\ngoal 0.1 0.2 0.3 0.4\noven 0.4 0.3 0.2 0.1\n", encoding="utf-8")
    (tmp_path / "more.txt").write_text("goal oven\n", encoding="utf-8")
    params["embed"].update(pretrained=str(vectors), extra_text=[str(tmp_path / "more.txt")])
    for stage in ("prepare", "tokenise"):
        assert run_stage(stage, params, tmp_path).returncode == 0
    res = run_stage("embed", params, tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"warning: embed.pretrained is set, so embed.extra_text ({tmp_path / 'more.txt'}) is not read" in res.stderr
    stats = json.loads((tmp_path / "data/folder/embed/stats.json").read_text())
    assert stats["source"] == str(vectors) and stats["extra_text"] == [] and stats["dim"] == 4


def test_a_stage_runs_its_own_checkouts_pipeline_not_the_installed_one(tmp_path):
    # two clones sharing one virtualenv: the installed (editable) package is this checkout's, so a
    # stage of another clone must still import the pipeline/ beside it, the code DVC tracks there
    clone = tmp_path / "clone"
    for item in ("pipeline", "stages"):
        shutil.copytree(REPO / item, clone / item, ignore=shutil.ignore_patterns("__pycache__"))
    init = clone / "pipeline" / "__init__.py"
    init.write_text(init.read_text() + '\nprint("pipeline imported from", __file__)\n')
    for script in ("report.py", "evaluate.py"):  # evaluate imports _results (and through it pipeline) first
        res = subprocess.run(
            [sys.executable, str(clone / "stages" / script), "--help"], cwd=tmp_path, capture_output=True, text=True
        )
        assert res.returncode == 0, res.stderr
        assert f"pipeline imported from {init}" in res.stdout, script
