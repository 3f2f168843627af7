"""bench/train_speed.py: throughput, the GEMM diagnostic and the operator profile, on a tiny corpus."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.test_stages import folder_params, run_stage
from tests.tiny import write_folder_dataset

REPO = Path(__file__).resolve().parents[1]


def _tiny(tmp_path: Path) -> Path:
    params = folder_params(write_folder_dataset(tmp_path / "src", n_train=60, n_test=10))
    params["embed"].update(dim=8, epochs=1)
    params["train"]["batch_size"] = 8
    for stage in ("prepare", "tokenise", "embed", "neighbours", "teacher"):
        res = run_stage(stage, params, tmp_path)
        assert res.returncode == 0, res.stderr
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "train_speed.py"),
            "--dataset",
            "folder",
            "--data",
            str(root / "data"),
            "--params",
            str(root / "params.yaml"),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_times_fp32_prints_gemm_rates_and_profiles_the_step(tmp_path):
    root = _tiny(tmp_path)
    res = _run(root, "--batches", "3", "--warmup", "1", "--no-bf16", "--profile", "2", "--top", "5")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert out.startswith("folder: 60 texts, mean ")
    gemm = re.search(
        r"^GEMM 4480x128x384: torch (\S+), numpy (\S+) GFLOP/s, 2048x2048x2048: torch (\S+), numpy (\S+) GFLOP/s$",
        out,
        re.M,
    )
    assert gemm and all(float(v) > 0 for v in gemm.groups()), out
    speed = re.search(r"^fp32: (\S+) docs/s \((\d+) docs in (\S+) s\)$", out, re.M)
    assert speed and float(speed[1]) > 0 and int(speed[2]) == 24, out  # 3 timed batches of 8
    assert not re.search(r"^bf16:", out, re.M)  # --no-bf16: fp32 only
    table = out.split("profile of 2 fp32 steps, by self CPU time:", 1)[1]
    ops = [ln for ln in table.splitlines() if ln.strip().startswith("aten::")]
    assert 1 <= len(ops) <= 5, table  # --top 5 rows, every one a torch operator
    assert "scaled_dot_product" in table or "aten::mm" in table  # attention or the projections lead


def test_too_few_batches_to_time_is_one_clear_error(tmp_path):
    root = _tiny(tmp_path)
    res = _run(root, "--batches", "3", "--warmup", "50", "--no-bf16")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "none left to time after --warmup 50" in res.stderr
