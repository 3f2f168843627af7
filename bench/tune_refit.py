"""Judge `train.refit` on the validation split carved from train (never test), one level down.

    python bench/tune_refit.py --dataset reuters21578 --seed 13 --set train.threads=1

A refit trains on its validation split, so it cannot be scored there. The protocol is therefore
played inside the fit split (train minus the validation split of `train.seed`), which stands in
for train:

- plain: `fit` on the fit split, as the `train` stage runs it on train (it carves its own, inner,
  validation split with the same seed and fraction, and keeps the epoch that split scores best);
- refit: the same network trained again on all of the fit split with that run's learning rates
  up to the kept epoch (`refit_schedule`), its last weights kept.

Both are scored on the outer validation split, which neither has seen, and printed with
their difference; the metrics also go out as one JSON line per seed. The test split is not read.
Each seed costs a plain training on 81 % of train plus a refit on 90 % (Reuters-21578, one thread:
about 40 minutes).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from _inputs import train_inputs
from tune_train import apply, show_epoch

from pipeline.train import evaluate_logits, fit, predict_logits, refit_schedule, resolve_device, split_validation

SHOWN = ("P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@1", "PSP@5")


def show_refit_epoch(row: dict) -> None:
    typer.echo(f"  refit epoch {row['epoch']}: loss {row['loss']:.3f} lr {row['lr']:.2g} ({row['seconds']:.0f} s)")


def main(dataset: str = "reuters21578", data: Path = Path("data"), params: Path = Path("params.yaml"),
         seed: list[int] = typer.Option([13], "--seed", help="train.seed (also the validation splits' seed); repeatable"),
         set: list[str] = typer.Option([], "--set", help="section.key=value override (repeatable)")) -> None:
    """Outer-validation metrics of the plain network and of its refit, both trained inside the fit split."""
    for s in seed:
        p = apply(yaml.safe_load(params.read_text()), [*set, f"train.seed={s}"])
        ex, emb, mcfg, cfg, inv_ps = train_inputs(data / dataset, p)
        fit_idx, val_idx = split_validation(len(ex), cfg.val_fraction, cfg.seed)
        inner, outer = ex.subset(fit_idx), ex.subset(val_idx)
        device = resolve_device(cfg.device)
        typer.echo(f"{dataset} seed {s} {' '.join(set)}: {len(inner)} texts stand for train, {len(outer)} validate")
        plain, history = fit(mcfg, cfg, inner, emb, inv_ps=inv_ps, progress=False, on_epoch=show_epoch)
        schedule = refit_schedule(history, cfg.monitor)
        typer.echo(f"  kept epoch {len(schedule)}; refit on all {len(inner)} texts at lr {[float(f'{x:.3g}') for x in schedule]}")
        refit, _ = fit(mcfg, cfg, inner, emb, inv_ps=inv_ps, progress=False, on_epoch=show_refit_epoch, replay=schedule)
        rows = {name: evaluate_logits(predict_logits(m, outer, device, bf16=cfg.use_bf16(device)), outer.y, inv_ps)
                for name, m in (("plain", plain), ("refit", refit))}
        rows["refit - plain"] = {k: rows["refit"][k] - rows["plain"][k] for k in rows["plain"]}
        for name, m in rows.items():
            typer.echo(f"seed {s} {name:13s} " + " ".join(f"{k} {m[k]:+.4f}" if name == "refit - plain" else f"{k} {m[k]:.4f}"
                                                            for k in SHOWN))
        typer.echo(json.dumps({"dataset": dataset, "seed": s, "set": set, "kept_epoch": len(schedule), **rows}))


if __name__ == "__main__":
    typer.run(main)
