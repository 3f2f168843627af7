"""bench/scale.py: every stage timed at two tiny sizes, with exponents and a projection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_scale_times_each_stage_at_each_size_and_projects(tmp_path):
    out = tmp_path / "scale.json"
    res = subprocess.run(
        [sys.executable, str(REPO / "bench" / "scale.py"), "--shape", "eurlex4k", "--sizes", "150", "--sizes", "300",
         "--stages", "check,prepare,tokenise,tfidf,embed,neighbours,teacher,knn,peers",
         "--set", "embed.dim=8", "--set", "embed.epochs=1", "--set", "neighbours.recall_sample=20",
         "--work", str(tmp_path / "work"), "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.splitlines()
    assert lines[0].startswith("eurlex4k: 3956 labels; train texts 150, 300; projection to 15,449 train / 3,865 test")
    stages = [line.split()[0] for line in lines[2:]]
    assert (
        stages[:3] == ["synth", "check", "prepare"]
        and "peer_train@parabel" in stages
        and stages[-1] == "peer_predict@plt"
    )
    figures = json.loads(out.read_text())["stages"]
    assert [f["stage"] for f in figures] == stages
    for f in figures:
        assert len(f["seconds"]) == 2 and all(s >= 0 for s in f["seconds"]) and all(m > 10 for m in f["peak_mib"])
        assert f["full_s"] >= 0 and f["full_mib"] > 0
    # the corpora and the stages' artifacts are where --work said, for a look afterwards
    assert (tmp_path / "work" / "corpus-300" / "train_texts.txt").exists()
    assert (tmp_path / "work" / "data-300" / "folder" / "teacher" / "train.parquet").exists()
