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

import numpy as np
import pyarrow.parquet as pq
import torch
import typer
import yaml

from pipeline import metrics, predict
from pipeline.model import ModelConfig
from pipeline.train import TrainConfig, fit


def apply(p: dict, sets: list[str]) -> dict:
    for item in sets:
        key, _, value = item.partition("=")
        *path, last = key.split(".")
        node = p
        for part in path:
            node = node[part]
        node[last] = yaml.safe_load(value)
    return p


def main(dataset: str = "reuters21578", data: Path = Path("data"), params: Path = Path("params.yaml"),
         set: list[str] = typer.Option([], "--set", help="section.key=value override (repeatable)"),
         log: Path = typer.Option(Path("bench/tune_train.jsonl"), help="JSON lines: settings and best validation row")) -> None:
    """Train as the `train` stage does, with overrides, and print validation P@1 / nDCG@5 per epoch (never test)."""
    p = apply(yaml.safe_load(params.read_text()), set)
    root = data / dataset
    labels = pq.read_table(root / "prepared" / "labels.parquet")
    outputs = predict.target_labels(labels)
    docs = pq.read_table(root / "prepared" / "train.parquet")
    use_teacher = bool(p["teacher"])
    ex = predict.examples(pq.read_table(root / "tokens" / "train.parquet"),
                          pq.read_table(root / "teacher" / "train.parquet") if use_teacher else None, docs, outputs)
    emb = torch.from_numpy(np.load(root / "embed" / "embeddings.npy"))
    mcfg = ModelConfig.from_dict({**p["model"], "vocab_size": emb.shape[0], "n_labels": len(outputs),
                                  "d_model": emb.shape[1], "reading": p["reading"], "teacher": use_teacher})
    cfg = TrainConfig.from_dict(p["train"])
    counts = labels.filter(labels["train_count"].to_numpy() > 0)["train_count"].to_numpy()
    typer.echo(f"{dataset} {' '.join(set) or '(params.yaml)'}")
    start = time.perf_counter()

    def show(row: dict) -> None:
        typer.echo(f"  epoch {row['epoch']}: loss {row['loss']:.3f} lr {row['lr']:.2g} val P@1 {row['val_P@1']:.4f} "
                   f"nDCG@5 {row['val_nDCG@5']:.4f} ({row['seconds']:.0f} s)")

    _, history = fit(mcfg, cfg, ex, emb, inv_ps=metrics.inverse_propensity(counts, len(docs)), on_epoch=show, progress=False)
    best = max(history, key=lambda r: r[f"val_{cfg.monitor}"])
    typer.echo(f"best epoch {best['epoch']}: val P@1 {best['val_P@1']:.4f} nDCG@5 {best['val_nDCG@5']:.4f} "
               f"in {time.perf_counter() - start:.0f} s")
    with log.open("a") as f:
        f.write(json.dumps({"dataset": dataset, "set": set, "best": best, "history": history}) + "\n")


if __name__ == "__main__":
    typer.run(main)
