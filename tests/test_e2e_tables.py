"""End to end: `treader table N` on a tiny corpus in a temporary git + DVC repository."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import yaml

from tests.test_e2e_dvc import dvc, project, sh, tiny_params  # noqa: F401, F811  (project is a fixture)


def table(proj, env, *args, ok: bool = True) -> str:
    res = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "table", *args], cwd=proj, env=env, capture_output=True, text=True
    )
    assert (res.returncode == 0) is ok, f"{args}:\n{res.stdout}\n{res.stderr}"
    return res.stdout + res.stderr


def test_tables_run_what_is_missing_and_nothing_twice(project):  # noqa: F811
    proj, env = project
    tiny_params(proj)
    sh(["git", "add", "-A"], proj, env)
    sh(["git", "commit", "-qm", "tiny"], proj, env)
    head = sh(["git", "rev-parse", "HEAD"], proj, env).strip()

    out = table(proj, env, "3", "--ablation-dataset", "folder")
    assert "table 3: 7 run(s), 7 of them run now" in out
    assert out.count("Running stage 'train'") == 7  # one training per configuration
    md = (proj / "reports" / "table3.md").read_text()
    measured = [ln for ln in md.splitlines() if re.match(r"\| \d \| .*\| folder \| 40 / 12 \|", ln)]
    assert [ln.split("|")[1].strip() for ln in measured] == [str(i) for i in range(7)]
    assert all(f"{head[:7]} (exp " in ln for ln in measured)  # each row names its revision
    assert "| 4 | True | MHSA+R+MMHSA | 96.49% |" in md  # the published rows, beside
    page = (proj / "reports" / "table3.html").read_text()
    assert "<script" not in page and page.count("<svg") >= 3
    curves = json.loads((proj / "reports" / "plots" / "table3_curves.json").read_text())
    assert {r["run"] for r in curves} == {f"folder config {i}" for i in range(7)}
    exps = dvc(proj, env, "exp", "list")
    assert all(name in exps for name in ("folder-c0", "folder-c5", "folder"))

    # Table 2 reuses the config-6 run (the defaults) instead of training again
    out = table(proj, env, "2", "--dataset", "folder")
    assert "reusing experiment folder" in out and "Running stage 'train'" not in out
    md2 = (proj / "reports" / "table2.md").read_text()
    for method in (
        "Parabel (omikuji)",
        "Bonsai (omikuji)",
        "PLT (napkinXC)",
        "kNN teacher (ours)",
        "TReaderXML (ours)",
    ):
        assert f"| {method} |" in md2

    # committing the reports keeps the runs; asking again trains nothing and changes nothing
    sh(["git", "add", "-A"], proj, env)
    sh(["git", "commit", "-qm", "reports"], proj, env)
    again = table(proj, env, "3", "--ablation-dataset", "folder")
    assert "0 of them run now" in again and "Running stage" not in again
    assert (proj / "reports" / "table3.md").read_text() == md
    assert sh(["git", "status", "--porcelain"], proj, env).strip() == ""


def test_uncommitted_changes_are_refused(project):  # noqa: F811
    proj, env = project
    params = yaml.safe_load((proj / "params.yaml").read_text())
    params["train"]["epochs"] = 1
    (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    res = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "table", "2", "--dataset", "folder"],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "commit your changes first" in res.stderr and "params.yaml" in res.stderr
    assert "Traceback" not in res.stderr
