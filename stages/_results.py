"""What every predicting stage writes: predictions, metrics (with costs) and the tail-label view."""

from __future__ import annotations

from pathlib import Path

import _stage  # noqa: F401  (first: puts this checkout's pipeline/ ahead of any installed one)
import pyarrow as pa
import typer

from pipeline.io import write_json, write_table
from pipeline.report import metrics


def write_results(
    method: str,
    dataset: str,
    docs: pa.Table,
    ranked: list[list[str]],
    scores: list[list[float]],
    train_counts: dict[str, int],
    n_train: int,
    evaluate: dict,
    predictions: Path,
    out: Path,
    info: dict | None = None,
    cost: dict | None = None,
) -> dict:
    """predictions (id, labels, scores; best first), <out>/<method>.json and <out>/<method>_tail.json.

    The metrics file holds the dataset and method, ``info`` (what the method was: reading, library, ...),
    the metrics, then ``cost`` (seconds and peak memory).
    """
    table = pa.table(
        {
            "id": docs["id"],
            "labels": pa.array(ranked, pa.list_(pa.string())),
            "scores": pa.array(scores, pa.list_(pa.float32())),
        }
    )
    write_table(table, predictions, "predictions")
    true = docs["labels"].to_pylist()
    scored = metrics.evaluate(
        true, ranked, train_counts, n_train, evaluate["ks"], evaluate["propensity_a"], evaluate["propensity_b"]
    )
    write_json({"dataset": dataset, "method": method, **(info or {}), **scored, **(cost or {})}, out / f"{method}.json")
    tail = metrics.precision_by_frequency(true, ranked, train_counts, k=5)
    write_json([{"method": method, **row} for row in tail], out / f"{method}_tail.json")
    typer.echo(f"{dataset} {method}: " + ", ".join(f"{k}={v:.4f}" for k, v in scored.items()))
    return scored
