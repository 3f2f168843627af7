"""Choose model/training settings on the validation split carved from train (never test).

    python bench/tune_train.py --dataset reuters21578 --set train.schedule=cosine --set model.norm=true

Needs the `teacher` artifacts of the dataset (`dvc repro teacher`). Trains exactly as the
`train` stage does (same seeds, same validation split) with params.yaml plus the `--set`
overrides (`section.key=value` or a top-level `teacher=false` / `reading=...`; values are
read as YAML), prints one line per epoch and the best validation row, and appends that
row with the settings to `--log` (JSON lines). The test split is not read.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from pipeline.engine.loop import best_epoch, fit

from _inputs import bench_params, train_inputs


def show_epoch(row: dict) -> None:
    """One line per epoch of training: loss, learning rate, validation P@1, nDCG@5 (and PSP@5), seconds."""
    psp = f" PSP@5 {row['val_PSP@5']:.4f}" if "val_PSP@5" in row else ""
    typer.echo(
        f"  epoch {row['epoch']}: loss {row['loss']:.3f} lr {row['lr']:.2g} val P@1 {row['val_P@1']:.4f} "
        f"nDCG@5 {row['val_nDCG@5']:.4f}{psp} ({row['seconds']:.0f} s)"
    )


def main(
    dataset: str = "reuters21578",
    data: Path = Path("data"),
    params: Path = Path("params.yaml"),
    set: list[str] = typer.Option([], "--set", help="section.key=value override (repeatable)"),
    log: Path = typer.Option(Path("bench/tune_train.jsonl"), help="JSON lines: settings and best validation row"),
) -> None:
    """Train as the `train` stage does, with overrides, and print validation P@1 / nDCG@5 per epoch (never test)."""
    p = bench_params(params, dataset, set)
    ex, emb, mcfg, cfg, inv_ps = train_inputs(data / dataset, p)
    typer.echo(f"{dataset} {' '.join(set) or '(params.yaml)'}")
    start = time.perf_counter()

    _, history = fit(mcfg, cfg, ex, emb, inv_ps=inv_ps, on_epoch=show_epoch, progress=False)
    best = history[best_epoch(history, cfg.monitor) - 1]
    psp = f" PSP@5 {best['val_PSP@5']:.4f}" if "val_PSP@5" in best else ""
    typer.echo(
        f"best epoch {best['epoch']}: val P@1 {best['val_P@1']:.4f} nDCG@5 {best['val_nDCG@5']:.4f}{psp} "
        f"in {time.perf_counter() - start:.0f} s"
    )
    with log.open("a") as f:
        f.write(json.dumps({"dataset": dataset, "set": set, "best": best, "history": history}) + "\n")


if __name__ == "__main__":
    typer.run(main)
