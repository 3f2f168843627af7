"""The tables: published figures verbatim, rendering, the run plan."""

from __future__ import annotations

import re
import subprocess

import pytest

from pipeline.errors import TreaderError
from pipeline.report import published, runs, tables

# --- the paper's figures, verbatim ------------------------------------------------------------------


def test_table2_rows_are_the_papers_lines(paper_text):
    for dataset, method, *values in published.TABLE2:
        assert "\t".join([method, *values]) in paper_text, (dataset, method)
    # and nothing is missing: the paper's Table 2 holds 30 method rows
    block = paper_text[paper_text.index("**Table 2.**") : paper_text.index("Table~3")]
    rows = [ln for ln in block.splitlines() if ln.count("\t") == 6 and not ln.startswith("Datasets")]
    assert len(rows) == len(published.TABLE2) == 30


def test_table3_rows_are_the_papers_lines(paper_text):
    for row in published.TABLE3:
        assert "\t".join(row) in paper_text, row
    assert [(i, t, r) for i, t, r in published.CONFIGS] == [
        (int(row[0]), row[1] == "True", "none" if row[2] == "-" else row[2]) for row in published.TABLE3
    ]


def test_table4_figures_are_the_papers_in_order(paper_text):
    line = next(ln for ln in paper_text.splitlines() if ln.startswith("PSP@1 | PSP@3 | PSP@5 Methods"))
    assert re.findall(r"\d+\.\d+%", line.replace("**", "")) == [
        v for _, *vs in published.TABLE4 for v in vs if v != "-"
    ]
    names = [m.rstrip("*'") for m, *_ in published.TABLE4]
    positions = [line.index(n) for n in names]
    assert positions == sorted(positions)


# --- rendering ------------------------------------------------------------------------------------------


def _run(dataset="reuters21578", config=None, **scores):
    base = {
        "P@1": 0.9,
        "P@3": 0.5,
        "P@5": 0.3,
        "nDCG@3": 0.9,
        "nDCG@5": 0.9,
        "PSP@1": 0.8,
        "PSP@3": 0.8,
        "PSP@5": 0.8,
        "train_s": 12.5,
        "predict_s": 1.0,
        "train_peak_mb": 300.0,
        "predict_peak_mb": 200.0,
    }
    methods = {
        "parabel": {**base, "P@1": 0.95},
        "treaderxml": {**base, **scores},
        "knn": {**base, "train_peak_mb": None},
    }
    tails = {m: [{"bin": "1-5", "P@5": 0.01}, {"bin": "6+", "P@5": 0.29}] for m in methods}
    return {
        "name": dataset,
        "dataset": dataset,
        "teacher": True,
        "reading": "MMHSA+R+MHSA",
        "config": config,
        "baseline": "abcdef1234567890",
        "commit": "1234567abcdef",
        "split": "ModApte",
        "train_seed": 13,
        "sizes": {"train": 7770, "test": 3019},
        "methods": methods,
        "tails": tails,
        "curves": {"loss": [2.0, 1.5], "val_nDCG_at_5": [0.8, 0.9]},
    }


def _row(md: str, start: str) -> list[str]:
    line = next(ln for ln in md.splitlines() if ln.startswith(f"| {start}"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_table2_bolds_the_best_per_column_and_names_provenance():
    md = tables.table2([_run()])
    parabel, ours = _row(md, "Parabel"), _row(md, "TReaderXML")
    assert parabel[1] == "**95.00%**" and ours[1] == "90.00%"
    assert ours[2] == "**50.00%**" == parabel[2]  # ties are all bold
    assert ours[-4:] == ["reuters21578", "7770 / 3019", "ModApte; train seed 13", "abcdef1 (exp 1234567)"]
    assert _row(md, "kNN")[8] == "n/m"  # a cost that was not measured says so
    assert "Published figures, copied verbatim" in md and "| AmazonCat-13K | AnnexML* | 93.54% |" in md
    # measured rows come first, the published block after them
    assert md.index("| Parabel (omikuji)") < md.index("The paper's Table 2")


def test_table3_orders_configs_and_bolds_the_best():
    rs = [_run(config=i, **{"P@1": 0.80 + i / 100}) for i in (6, 0, 3)]
    md = tables.table3(rs + [_run(dataset="rcv1-v2-subset", config=0)])
    assert md.index("## reuters21578") < md.index("## rcv1-v2-subset") < md.index("The paper's Table 3")
    rows = [ln for ln in md.splitlines() if re.match(r"\| \d \| .*reuters21578", ln)]
    measured = rows[:3]
    assert [r.split("|")[1].strip() for r in measured] == ["0", "3", "6"]
    assert "**86.00%**" in measured[2] and "**" not in measured[0].split("|")[4]
    assert _row(md, "0")[1:3] == ["-", "-"]  # config 0: no teacher, no Reading


def test_table4_has_psp_and_the_tail_bins():
    md = tables.table4([_run()])
    assert "| Method | PSP@1 | PSP@3 | PSP@5 |" in md and "N_l 1-5" in md and "| AttentionXML' | 53.76% |" in md


def test_pictures_page_is_offline_and_has_every_method():
    page = tables.html([_run()], 2)
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    for m in ("parabel", "treaderxml", "knn"):
        assert m in page
    rows = tables.plot_rows([_run(config=6)], 3)
    assert {r["method"] for r in rows["metrics"]} == {"treaderxml"} and len(rows["curves"]) == 2


# --- the run plan ---------------------------------------------------------------------------------------


def test_table3_plan_shares_config_6_with_table2():
    plan3 = runs.plan(3, [], [], ["reuters21578"])
    assert [r.config for r in plan3] == list(range(7))
    assert plan3[6].name == runs.plan(2, ["reuters21578"], [], ["x"])[0].name == "reuters21578"
    assert plan3[0].overrides() == ["dataset=reuters21578", "teacher=false", "reading=none"]
    assert len({r.name for r in plan3}) == 7
    both = runs.plan(3, [], [], ["reuters21578", "rcv1-v2-subset"])
    assert len(both) == 14 and both[13].name == "rcv1-v2-subset" and both[7].name == "rcv1-v2-subset-c0"


def test_folder_runs_are_named_after_the_folder(tmp_path):
    (tmp_path / "my data").mkdir()
    run = runs.plan(2, [], [str(tmp_path / "my data")], ["x"])[0]
    assert run.name == "folder-my-data" and run.dataset == "folder"
    assert f"folder.path={tmp_path / 'my data'}" in run.overrides()


def test_unknown_table_is_an_error():
    with pytest.raises(TreaderError, match="tables 2, 3 and 4"):
        runs.plan(5, [], [], ["x"])


@pytest.mark.parametrize(
    "path, output",
    [
        ("reports/table2.md", True),
        ("dvc.lock", True),
        ("metrics/knn.json", True),
        ("models/.gitignore", True),
        ("README.md", True),
        ("params.yaml", False),
        ("pipeline/model.py", False),
    ],
)
def test_outputs_do_not_count_as_changes(path, output):
    assert runs.is_output(path) is output


def test_a_run_whose_experiment_ref_is_missing_says_why(monkeypatch, tmp_path):
    """`dvc exp run` exits 0 but files the experiment under another baseline (HEAD moved meanwhile)."""
    run = runs.plan(2, ["reuters21578"], [], ["x"])[0]
    repo = runs.Repo(tmp_path, echo=lambda _: None)
    monkeypatch.setattr(runs.Repo, "commit_of", lambda self, ref: None)
    for code, message in ((0, "did HEAD move"), (3, "failed \\(exit 3\\)")):
        monkeypatch.setattr(runs.subprocess, "run", lambda *a, code=code, **k: subprocess.CompletedProcess(a, code))
        with pytest.raises(TreaderError, match=message):
            repo.ensure(run, ["a" * 40])


def test_train_seconds_are_the_clock_time_when_members_trained_at_once():
    """train_s sums the members' epochs; with train.jobs they ran at once, and the table's wall seconds are train_wall_s."""
    run = _run(train_s=2064.0, train_wall_s=1055.0)
    assert _row(tables.table2([run]), "TReaderXML")[6] == "1055"
    assert _row(tables.table3([{**run, "config": 6}]), "6")[8] == "1055"
    assert _row(tables.table2([_run()]), "TReaderXML")[6] == "12.5"  # a run without the clock figure keeps train_s
