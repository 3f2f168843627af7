"""The runs behind the tables: one `dvc exp` per (dataset, switches), found again by name.

This is the one module that drives git and DVC (for `treader table`); the rest of
`pipeline/` never does. A run is named after what it varies (``reuters21578``,
``reuters21578-c3``) and lives at ``refs/exps/<baseline commit>/<name>``, so asking
for a table again at the same commit reuses it, and at a new commit DVC's run cache
restores every stage whose code, data and parameters did not change (nothing
retrains). Commits that change only outputs (reports, dvc.lock, metrics, training
curves) or documentation (*.md) keep the runs of the commit before them. Experiments run in a temporary directory (`dvc exp run --temp`), so the
workspace is never touched; their training checkpoints go to checkpoints/exps/, so
an interrupted table command resumes the interrupted training.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from pipeline.errors import TreaderError
from pipeline.paths import experiment_checkpoints
from pipeline.report import published
from pipeline.report.tables import METHODS

# what the pipeline writes into git (results, not inputs): changing them changes no run
OUTPUTS = ("reports/", "dvc.lock", "metrics/", "dvclive/")


def is_output(path: str) -> bool:
    """Whether a changed path leaves every run as it was: pipeline outputs, .gitignore files, documentation."""
    return path.startswith(OUTPUTS) or path == "dvc.lock" or path.endswith((".gitignore", ".md"))


# stages a table needs; naming them keeps the report stages themselves out of the experiments
TARGETS = ("evaluate", "knn", "peer_predict")


@dataclass(frozen=True)
class Run:
    name: str
    dataset: str
    teacher: bool = True
    reading: str = "MMHSA+R+MHSA"
    config: int | None = None
    folder: str | None = None

    def overrides(self) -> list[str]:
        out = [f"dataset={self.dataset}", f"teacher={'true' if self.teacher else 'false'}", f"reading={self.reading}"]
        return out + ([f"folder.path={self.folder}"] if self.folder else [])


def plan(table: int, datasets: list[str], folders: list[str], ablation_datasets: list[str]) -> list[Run]:
    """The runs a table needs. Table 3's config 6 is the default run, shared with Tables 2 and 4."""
    if table == 3:
        return [
            Run(d if i == 6 else f"{d}-c{i}", d, t, r, config=i)
            for d in ablation_datasets
            for i, t, r in published.CONFIGS
        ]
    if table not in (2, 4):
        raise TreaderError(f"no table {table}: tables 2, 3 and 4 exist")
    runs = [Run(d, d) for d in datasets]
    for f in folders:
        path = str(Path(f).resolve())
        runs.append(
            Run("folder-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", Path(path).name) or "data"), "folder", folder=path)
        )
    return runs


class Repo:
    """git and DVC in the project at ``root``."""

    def __init__(self, root: Path, echo: Callable[[str], None] = print):
        self.root, self.echo = Path(root), echo

    def git(self, *args: str, check: bool = True) -> str:
        res = subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True)
        if check and res.returncode != 0:
            raise TreaderError(f"git {' '.join(args)} failed: {res.stderr.strip()}")
        return res.stdout.rstrip()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def changed(self) -> list[str]:
        """Tracked input files (code, parameters, data pointers) with uncommitted changes."""
        lines = self.git("status", "--porcelain", "--untracked-files=no").splitlines()
        return [ln[3:] for ln in lines if not is_output(ln[3:])]

    def baselines(self) -> list[str]:
        """HEAD and its ancestors back to the last commit that changed an input: runs made at any of them hold."""
        out = []
        for sha in self.git("rev-list", "HEAD").splitlines():
            out.append(sha)
            changed = self.git("diff-tree", "--no-commit-id", "--name-only", "-r", "--root", sha).splitlines()
            if not all(is_output(path) for path in changed):
                break
        return out

    @staticmethod
    def ref(baseline: str, name: str) -> str:
        return f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}"

    def commit_of(self, ref: str) -> str | None:
        return self.git("rev-parse", "--verify", "-q", ref, check=False) or None

    def show(self, ref: str, path: str) -> str | None:
        res = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=self.root, capture_output=True, text=True)
        return res.stdout if res.returncode == 0 else None

    def ensure(self, run: Run, baselines: list[str]) -> tuple[str, str, bool]:
        """(ref, baseline, ran): the run's experiment at one of ``baselines``, run at the first when there is none."""
        for baseline in baselines:
            ref = self.ref(baseline, run.name)
            if self.commit_of(ref):
                return ref, baseline, False
        baseline = baselines[0]
        ref = self.ref(baseline, run.name)
        self.echo(f"running experiment {run.name} ({', '.join(run.overrides())})")
        env = dict(os.environ, TREADER_CHECKPOINTS=str(experiment_checkpoints(self.root)))
        cmd = [sys.executable, "-m", "dvc", "exp", "run", "--temp", "-n", run.name]
        for o in run.overrides():
            cmd += ["-S", o]
        res = subprocess.run([*cmd, *TARGETS], cwd=self.root, env=env)
        if res.returncode != 0:
            raise TreaderError(f"experiment {run.name} failed (exit {res.returncode}); its output is above")
        if not self.commit_of(ref):
            raise TreaderError(
                f"experiment {run.name} ran, but {ref} is missing: did HEAD move (a commit or checkout) "
                f"while the table was being built? Ask again; finished runs are restored from DVC's run cache"
            )
        return ref, baseline, True

    def collect(self, run: Run, ref: str, baseline: str) -> dict:
        """Everything a table row needs, read from the experiment's commit."""
        params = yaml.safe_load(self.show(ref, "params.yaml") or "{}")
        methods, tails = {}, {}
        for m in METHODS:
            text = self.show(ref, f"metrics/{m}.json")
            if text:
                methods[m] = json.loads(text)
                tails[m] = json.loads(self.show(ref, f"metrics/{m}_tail.json") or "[]")
        curves = {}
        for key in ("loss", "val_nDCG_at_5", "val_P_at_1"):
            text = self.show(ref, f"dvclive/plots/metrics/{key}.tsv") or ""
            curves[key] = [float(line.split("\t")[1]) for line in text.splitlines()[1:] if line.strip()]
        nb = json.loads(self.show(ref, "metrics/neighbours.json") or "{}")
        section = params.get(run.dataset, {})
        split = {"reuters21578": "ModApte"}.get(run.dataset) or (
            f"seeded split {section['split_seed']}" if "split_seed" in section else "given split"
        )
        return {
            "name": run.name,
            "dataset": run.dataset if not run.folder else f"folder:{Path(run.folder).name}",
            "teacher": run.teacher,
            "reading": run.reading,
            "config": run.config,
            "baseline": baseline,
            "commit": self.commit_of(ref),
            "split": split,
            "train_seed": params.get("train", {}).get("seed"),
            "sizes": {"train": nb.get("train_documents"), "test": nb.get("test_documents")},
            "methods": methods,
            "tails": tails,
            "curves": curves,
        }


def build(
    table: int,
    root: Path,
    datasets: list[str],
    folders: list[str],
    ablation_datasets: list[str],
    echo: Callable[[str], None] = print,
) -> tuple[list[dict], int]:
    """Run what is missing for ``table`` and collect every run; returns (records, experiments run)."""
    repo = Repo(root, echo)
    dirty = repo.changed()
    if dirty:
        raise TreaderError(
            "commit your changes first (each table row names the git revision it came from): "
            + ", ".join(dirty[:5])
            + (" ..." if len(dirty) > 5 else "")
        )
    baselines, records, ran = repo.baselines(), [], 0
    for run in plan(table, datasets, folders, ablation_datasets):
        ref, baseline, new = repo.ensure(run, baselines)
        ran += new
        if not new:
            echo(f"reusing experiment {run.name} ({(repo.commit_of(ref) or '')[:7]})")
        records.append(repo.collect(run, ref, baseline))
    return records, ran
