"""After a failed run, the README's way back to the last good run works (a tiny project, real DVC)."""

from __future__ import annotations

import json

from tests.test_e2e_dvc import dvc, project, sh, tiny_params  # noqa: F401  (project is a fixture)


def test_the_last_good_run_comes_back_without_training_again(project):  # noqa: F811
    proj, env = project
    tiny_params(proj)
    dvc(proj, env, "repro")
    sh(["git", "add", "-A"], proj, env)
    sh(["git", "commit", "-qm", "a good run"], proj, env)
    model = proj / "models" / "folder" / "model.pt"
    good = model.read_bytes()

    # bad input: DVC removes the failing stage's outputs before it runs it
    data = proj / "tiny" / "train.jsonl"
    kept = data.read_text()
    data.write_text(kept + '{"id": "bad", "text": "x", "labels": [7]}\n')
    out = dvc(proj, env, "repro", ok=False)
    assert "train.jsonl, line 41: a label must be a string, got 7" in out and "Traceback" not in out
    assert not (proj / "data" / "folder" / "prepared").exists()

    # the input fixed, `dvc repro` takes every stage from the run cache: nothing runs, nothing trains
    data.write_text(kept)
    out = dvc(proj, env, "repro")
    assert "Running stage" not in out and "Stage 'prepare' is cached - skipping run" in out
    assert model.read_bytes() == good

    # a bad setting stops in `check`, so nothing is lost; the last commit's params and outputs come back
    # with git checkout params.yaml dvc.lock && dvc checkout
    out = dvc(proj, env, "exp", "run", "-S", "train.lr=0", ok=False)
    assert "train.lr must be a number in (0, inf); got 0" in out and model.read_bytes() == good
    sh(["git", "checkout", "params.yaml", "dvc.lock"], proj, env)
    dvc(proj, env, "checkout")
    assert "Running stage" not in dvc(proj, env, "repro") and model.read_bytes() == good
    assert json.loads((proj / "models" / "folder" / "config.json").read_text())["train"]["lr"] == 0.01
