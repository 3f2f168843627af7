"""bench/tune_extra_text.py: the kNN validation proxy with and without extra text, on a tiny corpus."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.test_stages import folder_params, run_stage
from tests.tiny import write_folder_dataset

REPO = Path(__file__).resolve().parents[1]


def _bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "tune_extra_text.py"),
            "--dataset",
            "folder",
            "--data",
            str(tmp_path / "data"),
            "--dim",
            "8",
            "--epochs",
            "2",
            "--ks",
            "3,5",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_scores_each_source_beside_none_and_refuses_the_dataset_itself(tmp_path):
    src = write_folder_dataset(tmp_path / "src", n_train=50, n_test=10)
    params = folder_params(src)
    for stage in ("prepare", "tokenise"):
        assert run_stage(stage, params, tmp_path).returncode == 0
    extra = tmp_path / "more.txt"
    extra.write_text("goal striker unknownword match\noven bread\n\nzzz qqq\n", encoding="utf-8")
    res = _bench(tmp_path, "--extra", str(extra), "--raw")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "folder: 40 fit / 10 validation texts (seed 13); word2vec dim 8, 2 epochs"
    rows = [
        re.match(r"extra=(.+?)\s+texts=\s*(\d+) words=\s*(\d+) k=\s*(\d+)  P@1=(\S+) nDCG@5=(\S+) PSP@5=(\S+)", ln)
        for ln in lines[1:]
    ]
    assert all(rows), lines
    got = [(r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]
    # through the vocabulary: 'unknownword', 'zzz', 'qqq' dropped, and the line left empty with them
    assert got == [
        ("none", 0, 0, 3),
        ("none", 0, 0, 5),
        (str(extra), 2, 5, 3),
        (str(extra), 2, 5, 5),
        (f"{extra} (raw words)", 3, 8, 3),
        (f"{extra} (raw words)", 3, 8, 5),
    ]
    assert all(0.0 <= float(v) <= 1.0 for r in rows for v in r.groups()[4:])

    refused = _bench(tmp_path, "--extra", str(src))
    assert refused.returncode != 0
    assert "names the dataset being trained on" in refused.stderr and "leak" in refused.stderr
