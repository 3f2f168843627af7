"""bench/teacher_effect.py: P@1 by teacher quality, on a hand-made test split."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]


def _preds(path: Path, ranked: dict[str, list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "id": list(ranked),
                "labels": list(ranked.values()),
                "scores": pa.array([[1.0] * len(v) for v in ranked.values()], pa.list_(pa.float32())),
            }
        ),
        path,
    )
    return path


def test_groups_and_p_at_1_by_hand(tmp_path):
    root = tmp_path / "data" / "mini"
    (root / "prepared").mkdir(parents=True)
    truth = {"a": ["x"], "b": ["y"], "c": ["z"], "d": ["x", "y"]}
    pq.write_table(
        pa.table({"id": list(truth), "text": ["t"] * 4, "labels": list(truth.values())}),
        root / "prepared" / "test.parquet",
    )
    # teacher: a right first; b right at rank 2; c and d without a true label in the top 5
    _preds(root / "predictions" / "knn.parquet", {"a": ["x"], "b": ["x", "y"], "c": ["x"], "d": ["z"]})
    model = _preds(tmp_path / "model.parquet", {"a": ["x"], "b": ["y"], "c": ["x"], "d": ["y"]})
    res = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "teacher_effect.py"),
            str(model),
            "--dataset",
            "mini",
            "--data",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert "teacher first right: 1, true label in teacher top 5: 1, none in teacher top 5: 2" in res.stdout
    row = res.stdout.strip().splitlines()[-1].split()
    # P@1 3/4; by group 1, 1, 1/2; first label equal to the teacher's on a and c
    assert [float(v) for v in row[1:]] == [0.75, 1.0, 1.0, 0.5, 0.5]
