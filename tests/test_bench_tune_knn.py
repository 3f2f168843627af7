"""bench/tune_knn.py --tfidf: the kNN validation proxy with texts compared by TF-IDF rows, on a tiny corpus."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.test_stages import folder_params, run_stage
from tests.tiny import write_folder_dataset

REPO = Path(__file__).resolve().parents[1]


def test_scores_tfidf_neighbours_beside_each_word2vec_setting(tmp_path):
    src = write_folder_dataset(tmp_path / "src", n_train=50, n_test=10)
    params = folder_params(src)
    for stage in ("prepare", "tokenise"):
        assert run_stage(stage, params, tmp_path).returncode == 0
    res = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "tune_knn.py"),
            "--dataset",
            "folder",
            "--data",
            str(tmp_path / "data"),
            "--ks",
            "3,5",
            "--sg",
            "1",
            "--epochs",
            "2",
            "--dims",
            "8",
            "--tfidf",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "folder: 40 fit / 10 validation texts (seed 13)"
    tfidf = [re.match(r"tfidf k=\s*(\d+)  P@1=(\S+) P@5=(\S+) nDCG@5=(\S+) PSP@5=(\S+)$", ln) for ln in lines[1:3]]
    w2v = [
        re.match(r"sg=1 epochs=2 dim=8 k=\s*(\d+)  P@1=(\S+) P@5=(\S+) nDCG@5=(\S+) PSP@5=(\S+)  \(word2vec", ln)
        for ln in lines[3:]
    ]
    assert all(tfidf) and all(w2v) and len(w2v) == 2, lines
    assert [int(m[1]) for m in tfidf] == [int(m[1]) for m in w2v] == [3, 5]
    assert all(0.0 <= float(v) <= 1.0 for m in tfidf + w2v for v in m.groups()[1:])
    # the tiny topics are keyword-made: their TF-IDF neighbours share labels far above chance (1 in 6)
    assert float(tfidf[0][2]) > 0.5
