"""End to end: `dvc repro tokenise` in a temporary git repository on a tiny dataset."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.tiny import write_folder_dataset

REPO = Path(__file__).resolve().parents[1]


def sh(args, cwd, env, ok: bool = True):
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if ok:
        assert res.returncode == 0, f"{args} failed:\n{res.stdout}\n{res.stderr}"
    else:
        assert res.returncode != 0, f"{args} should have failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout + res.stderr


@pytest.fixture
def project(tmp_path):
    """A fresh git + DVC repository holding the pipeline and a tiny `folder` dataset."""
    proj = tmp_path / "proj"
    proj.mkdir()
    for item in ("pipeline", "stages", "examples"):
        shutil.copytree(REPO / item, proj / item, ignore=shutil.ignore_patterns("__pycache__"))
    for item in ("dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(REPO / item, proj / item)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["dataset"] = "folder"
    params["folder"]["path"] = "tiny"
    (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    write_folder_dataset(proj / "tiny", n_train=40, n_test=12)
    # the report stages render collected runs (`treader table N` writes them): none yet
    (proj / "reports" / "runs").mkdir(parents=True)
    for n in (2, 3, 4):
        (proj / "reports" / "runs" / f"table{n}.json").write_text(json.dumps({"table": n, "runs": []}))
    env = dict(
        os.environ,
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    sh(["git", "init", "-q"], proj, env)
    sh([sys.executable, "-m", "dvc", "init", "-q"], proj, env)
    sh([sys.executable, "-m", "dvc", "config", "core.analytics", "false"], proj, env)
    sh(["git", "add", "-A"], proj, env)
    sh(["git", "commit", "-qm", "init"], proj, env)
    return proj, env


def dvc(proj, env, *args, ok: bool = True):
    return sh([sys.executable, "-m", "dvc", *args], proj, env, ok)


def tiny_params(proj):
    params = yaml.safe_load((proj / "params.yaml").read_text())
    params["embed"].update(dim=16, epochs=3)
    params["neighbours"].update(k=5, n_trees=5, recall_sample=20)
    params["model"].update(bottleneck=16)
    params["train"].update(epochs=3, batch_size=8, lr=0.01, threads=1)
    (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def test_repro_then_nothing_to_rerun(project):
    proj, env = project
    out = dvc(proj, env, "repro", "tokenise")
    assert "Running stage 'prepare'" in out and "Running stage 'tokenise'" in out
    assert pq.read_table(proj / "data/folder/tokens/train.parquet").num_rows == 40
    assert pq.read_table(proj / "data/folder/prepared/test.parquet").num_rows == 12

    again = dvc(proj, env, "repro", "tokenise")
    assert "Running stage" not in again
    assert "Stage 'prepare' didn't change" in again and "Stage 'tokenise' didn't change" in again

    # A tokenise-only parameter reruns tokenise, not prepare.
    params = yaml.safe_load((proj / "params.yaml").read_text())
    params["tokenise"]["min_count"] = 1
    (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = dvc(proj, env, "repro", "tokenise")
    assert "Running stage 'prepare'" not in third and "Running stage 'tokenise'" in third

    # Editing the user's data reruns prepare.
    with open(proj / "tiny" / "train.jsonl", "a") as f:
        f.write('{"id": "extra", "text": "goal striker match", "labels": ["football"]}\n')
    fourth = dvc(proj, env, "repro", "tokenise")
    assert "Running stage 'prepare'" in fourth
    assert pq.read_table(proj / "data/folder/prepared/train.parquet").num_rows == 41


def test_whole_pipeline_and_teacher_params_rerun_only_teacher(project):
    proj, env = project
    params = tiny_params(proj)
    out = dvc(proj, env, "repro")
    for stage in (
        "check",
        "prepare",
        "tokenise",
        "embed",
        "tfidf",
        "neighbours",
        "teacher",
        "knn",
        "train",
        "evaluate",
    ):
        assert f"Running stage '{stage}'" in out
    knn = yaml.safe_load((proj / "metrics" / "knn.json").read_text())
    assert {"P@1", "P@3", "P@5", "nDCG@5", "PSP@5"} <= set(knn) and 0.0 <= knn["P@1"] <= 1.0
    report = yaml.safe_load((proj / "metrics" / "neighbours.json").read_text())
    assert set(report["recall@5"]) == {"train", "test"}
    teacher = pq.read_table(proj / "data/folder/teacher/test.parquet")
    assert teacher.column_names == [
        "id",
        "neighbours",
        "similarities",
        "teacher_labels",
        "teacher_votes",
        "teacher_tokens",
    ]
    assert teacher.num_rows == 12

    assert "Running stage" not in dvc(proj, env, "repro")

    params["teacher_set"]["max_labels"] = 3
    (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = dvc(proj, env, "status")
    assert "teacher:" in status
    for stage in ("prepare", "tokenise", "embed", "neighbours", "knn"):
        assert f"{stage}:" not in status
    assert "train:" in status  # the model bundle records the teacher-set settings it was trained with
    out = dvc(proj, env, "repro", "teacher")
    # the check stage looks at every setting first; its marker is unchanged, so only teacher runs after it
    assert "Running stage 'check'" in out and "Running stage 'teacher'" in out and out.count("Running stage") == 2
    sizes = [len(x) for x in pq.read_table(proj / "data/folder/teacher/train.parquet")["teacher_labels"].to_pylist()]
    assert max(sizes) <= 3


def test_ablations_from_the_command_line(project):
    proj, env = project
    tiny_params(proj)
    dvc(proj, env, "repro")
    sh(["git", "add", "-A"], proj, env)
    sh(["git", "commit", "-qm", "baseline"], proj, env)

    out = dvc(proj, env, "exp", "run", "-n", "mhsa-r", "-S", "reading=MHSA+R")
    ran = sorted(line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage"))
    assert ran == ["check", "evaluate", "train"]
    metrics = yaml.safe_load((proj / "metrics" / "treaderxml.json").read_text())
    assert metrics["reading"] == "MHSA+R" and metrics["teacher"] is True
    diff = dvc(proj, env, "metrics", "diff")
    assert "metrics/treaderxml.json" in diff and "MMHSA+R+MHSA" in diff and "MHSA+R" in diff  # HEAD vs workspace

    out = dvc(proj, env, "exp", "run", "-n", "no-teacher", "-S", "teacher=false", "-S", "reading=MMHSA+R+MHSA")
    ran = sorted(line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage"))
    assert ran == ["check", "evaluate", "train"]
    assert yaml.safe_load((proj / "metrics" / "treaderxml.json").read_text())["teacher"] is False

    out = dvc(proj, env, "exp", "run", "-n", "prior", "-S", "teacher=true", "-S", "model.teacher_prior=true")
    ran = sorted(line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage"))
    assert ran == ["check", "evaluate", "train"]  # a model switch, not a corpus one
    assert json.loads((proj / "models" / "folder" / "config.json").read_text())["model"]["teacher_prior"] is True

    out = dvc(
        proj,
        env,
        "exp",
        "run",
        "-n",
        "lift",
        "-S",
        "teacher=true",
        "-S",
        "model.teacher_prior=true",
        "-S",
        "evaluate.lift_parents=true",
    )
    ran = sorted(line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage"))
    assert "evaluate" in ran and "train" not in ran  # re-ranking only: the trained model is reused
    assert (
        yaml.safe_load((proj / "metrics" / "treaderxml.json").read_text())["lift_parents"] is False
    )  # tiny: no output has an output parent

    # the teacher's neighbours by TF-IDF: the search and everything after it rerun, not the embedding
    out = dvc(
        proj,
        env,
        "exp",
        "run",
        "-n",
        "tfidf-teacher",
        "-S",
        "teacher=true",
        "-S",
        "model.teacher_prior=false",
        "-S",
        "evaluate.lift_parents=auto",
        "-S",
        "++folder.neighbours.vectors=tfidf",  # the dataset's own value (++: the key is new to its section)
    )
    ran = sorted(line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage"))
    # prepare reads the dataset's section whole: it runs again and writes the same files (tokenise, embed do not run)
    assert ran == ["check", "evaluate", "knn", "neighbours", "prepare", "teacher", "train"]
    assert yaml.safe_load((proj / "metrics" / "neighbours.json").read_text())["vectors"] == "tfidf"
    assert json.loads((proj / "models" / "folder" / "config.json").read_text())["neighbours"]["vectors"] == "tfidf"
    assert (proj / "models" / "folder" / "tfidf_train.npz").exists() and not (
        proj / "models" / "folder" / "index.ann"
    ).exists()

    bad = dvc(proj, env, "exp", "run", "-S", "reading=MHSA", ok=False)
    assert "reading must be one of none, MMHSA+R, MHSA+R" in bad

    show = dvc(proj, env, "exp", "show", "--csv")
    assert "mhsa-r" in show and "no-teacher" in show and "tfidf-teacher" in show

    bad = dvc(proj, env, "exp", "run", "-S", "reading=MMHSA+R+MHSA", "-S", "folder.neighbours.vectors=bm25", ok=False)
    assert "folder.neighbours.vectors must be one of word2vec, tfidf; got 'bm25'" in bad

    # a bad setting fails in the check stage, before any work, and the last good model stays
    model = proj / "models" / "folder" / "model.pt"
    before = model.read_bytes()
    bad = dvc(proj, env, "exp", "run", "-S", "folder.neighbours.vectors=tfidf", "-S", "embed.dim=7", ok=False)
    assert "embed.dim (7) is the network's d_model and must be divisible by model.n_heads (4)" in bad
    ran = sorted(line.split("'")[1] for line in bad.splitlines() if line.startswith("Running stage"))
    assert ran == ["check"] and "Traceback" not in bad
    assert model.read_bytes() == before
