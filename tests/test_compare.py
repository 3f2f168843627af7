"""The paired bootstrap (pipeline/compare.py) and `treader compare`."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import DataError
from pipeline.report import compare, metrics


def _hits(rng, n, p):
    """P@1 parts of a method that is right on a share p of n documents."""
    return {"P@1": ((rng.random(n) < p).astype(float), np.ones(n))}


def test_identical_methods_differ_by_nothing():
    rng = np.random.default_rng(0)
    a = _hits(rng, 500, 0.8)
    (d,) = compare.paired_bootstrap(a, a, resamples=500)
    assert d.diff == 0 and d.low == d.high == 0 and d.p == 1.0 and d.a_wins == 0.0


def test_a_clearly_better_method_is_found_and_a_tie_is_not():
    rng = np.random.default_rng(1)
    n = 2000
    truth = rng.random(n)
    better = {"P@1": ((truth < 0.90).astype(float), np.ones(n))}
    worse = {"P@1": ((truth < 0.85).astype(float), np.ones(n))}  # wrong on a superset of the documents
    (d,) = compare.paired_bootstrap(better, worse, resamples=2000)
    assert d.diff == pytest.approx(np.mean(truth < 0.90) - np.mean(truth < 0.85))
    assert 0 < d.low < d.diff < d.high and d.p < 0.001 and d.a_wins == 1.0
    shuffled = {"P@1": (rng.permutation(better["P@1"][0]), np.ones(n))}  # as good, wrong on other documents
    (tie,) = compare.paired_bootstrap(better, shuffled, resamples=2000)
    assert tie.diff == 0 and tie.low < 0 < tie.high and tie.p > 0.5


def test_interval_width_matches_the_normal_approximation():
    # paired 0/1 outcomes: the difference of means has standard error sd(a - b) / sqrt(n)
    rng = np.random.default_rng(2)
    n = 3000
    a = (rng.random(n) < 0.93).astype(float)
    b = np.where(rng.random(n) < 0.3, 1 - a, a)  # disagrees on ~30 % of documents
    (d,) = compare.paired_bootstrap({"P@1": (a, np.ones(n))}, {"P@1": (b, np.ones(n))}, resamples=4000, seed=3)
    se = np.std(a - b) / np.sqrt(n)
    assert d.high - d.low == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_ratio_metrics_are_resampled_as_ratios_and_results_are_seeded():
    rng = np.random.default_rng(4)
    true = [[str(x) for x in rng.choice(20, rng.integers(1, 4), replace=False)] for _ in range(300)]
    pred_a = [list(dict.fromkeys(t + [str(x) for x in rng.permutation(20)]))[:5] for t in true]
    pred_b = [[str(x) for x in rng.permutation(20)[:5]] for _ in true]
    counts = {str(i): int(c) for i, c in enumerate(rng.integers(1, 200, 20))}
    pa_, pb_ = (metrics.evaluate_per_document(true, p, counts, 1000) for p in (pred_a, pred_b))
    res = compare.paired_bootstrap(pa_, pb_, resamples=300, seed=7)
    whole_a, whole_b = metrics.evaluate(true, pred_a, counts, 1000), metrics.evaluate(true, pred_b, counts, 1000)
    assert [d.metric for d in res] == list(whole_a)
    for d in res:
        assert (d.a, d.b) == (whole_a[d.metric], whole_b[d.metric])
        assert d.low <= d.diff <= d.high
    assert res == compare.paired_bootstrap(pa_, pb_, resamples=300, seed=7)
    assert res != compare.paired_bootstrap(pa_, pb_, resamples=300, seed=8)


def test_bad_inputs_are_refused():
    a = {"P@1": (np.ones(3), np.ones(3))}
    with pytest.raises(ValueError, match="one value per document"):
        compare.paired_bootstrap(a, {"P@1": (np.ones(2), np.ones(2))})
    with pytest.raises(ValueError, match="share no metric"):
        compare.paired_bootstrap(a, {"P@3": (np.ones(3), np.ones(3))})
    with pytest.raises(DataError, match="1 test documents missing"):
        compare.align(["a", "b"], ["a", "b", "c"], ["a", "b", "c"])
    with pytest.raises(DataError, match="twice"):
        compare.align(["a", "a", "b"], ["a", "b"], ["a", "b"])
    assert [r.tolist() for r in compare.align(["b", "a"], ["a", "b"], ["a", "b"])] == [[1, 0], [0, 1]]


def _write(path, table):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def test_cli_compares_two_prediction_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    root = tmp_path / "data" / "mini"
    ids = [f"t{i}" for i in range(200)]
    true = [[f"L{rng.integers(0, 6)}"] for _ in ids]
    docs = pa.table({"id": ids, "text": ["x"] * len(ids), "labels": true})
    _write(root / "prepared" / "test.parquet", docs)
    _write(
        root / "prepared" / "train.parquet", pa.table({"id": ["a"] * 50, "text": ["x"] * 50, "labels": [["L0"]] * 50})
    )
    _write(
        root / "prepared" / "labels.parquet",
        pa.table(
            {
                "label": [f"L{i}" for i in range(6)],
                "description": ["d"] * 6,
                "parent": pa.array([None] * 6, pa.string()),
                "train_count": [10] * 6,
                "test_count": [1] * 6,
            }
        ),
    )
    good = [t + [f"L{j}" for j in range(6) if f"L{j}" != t[0]][:4] for t in true]
    bad = [[f"L{j}" for j in rng.permutation(6)[:5]] for _ in ids]
    for name, ranked in (("good", good), ("bad", bad)):
        _write(
            root / "predictions" / f"{name}.parquet",
            pa.table(
                {
                    "id": ids[::-1],
                    "labels": ranked[::-1],
                    "scores": pa.array([[1.0] * 5] * len(ids), pa.list_(pa.float32())),
                }
            ),
        )
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "good",
            str(root / "predictions" / "bad.parquet"),
            "-d",
            "mini",
            "--params",
            "none.yaml",
            "--resamples",
            "500",
            "--out",
            "cmp.json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "200 test documents, 500 paired resamples" in res.output
    out = json.loads((tmp_path / "cmp.json").read_text())
    p1 = next(m for m in out["metrics"] if m["metric"] == "P@1")
    assert p1["first"] == 1.0 and p1["second"] == pytest.approx(np.mean([b[0] == t[0] for b, t in zip(bad, true)]))
    assert p1["low"] > 0 and p1["first_wins"] == 1.0
    res = CliRunner().invoke(app, ["compare", "good", "nosuch", "-d", "mini", "--params", "none.yaml"])
    assert res.exit_code == 2 and "missing artifact" in res.output


def test_cli_help_says_what_it_measures():
    res = CliRunner().invoke(app, ["compare", "--help"])
    text = " ".join(res.output.replace("│", " ").split())
    for words in ("paired bootstrap", "--resamples", "--seed", "--level", "percentile interval", "another seed"):
        assert words in text, words
