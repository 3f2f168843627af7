"""Choose `train.members` (the ensemble's size) on the validation split carved from train (never test).

    python bench/tune_members.py --dataset rcv1-v2-subset --members 5 --seed 13 --seed 14 --save runs/
    python bench/tune_members.py --dataset rcv1-v2-subset --members 5 --seed 13 --seed 14 --load runs/

For each seed (the validation split's and member 0's), trains ``--members`` networks as the
`train` stage does (params.yaml plus `--set` overrides; member m from
``member_seed(seed, m)``), then scores the first n members' validation scores combined, for
n = 1 .. members, two ways: the mean of their probabilities (what the pipeline does,
``ProbabilityMean``) and the mean of their logits; ranked as `evaluate` ranks them (lifted to
descendants when `evaluate.lift_parents` says so for this corpus). ``--save`` keeps each
member's validation logits; ``--load`` rescores kept ones without training. The test split
is not read.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import typer

from pipeline.data import hierarchy
from pipeline.engine import predict
from pipeline.engine.device import resolve_device
from pipeline.engine.examples import split_validation
from pipeline.engine.infer import ProbabilityMean, evaluate_logits, predict_logits
from pipeline.engine.loop import fit

from _inputs import bench_params, label_parents, train_inputs

KEYS = ("P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@5")


def main(
    dataset: str = "rcv1-v2-subset",
    data: Path = Path("data"),
    params: Path = Path("params.yaml"),
    members: int = typer.Option(5, help="Members per seed (ensembles of 1 .. this many are scored)"),
    seed: list[int] = typer.Option([13], "--seed", help="train.seed (the validation split's seed); repeatable"),
    set: list[str] = typer.Option([], "--set", help="section.key=value override (repeatable)"),
    save: Path = typer.Option(
        None, help="Also write each member's validation logits and targets to SAVE/seed<N>-member<M>.npz"
    ),
    load: Path = typer.Option(None, help="Rescore the logits a --save run wrote to LOAD instead of training"),
) -> None:
    """Validation metrics of ensembles of 1 .. ``members`` networks."""
    root = data / dataset
    parents, closed = label_parents(root)
    for s in seed:
        p = bench_params(params, dataset, [*set, f"train.seed={s}"])
        lift = predict.lifts(predict.lift_mode(p["evaluate"].get("lift_parents", "auto")), parents, closed)
        rank = (lambda x: hierarchy.lift_to_descendants(x, parents)) if lift else (lambda x: x)
        if load is None:
            ex, emb, mcfg, cfg, inv_ps = train_inputs(root, p)
            val = ex.subset(split_validation(len(ex), cfg.val_fraction, cfg.seed)[1])
            y = val.y
        probs, logit_sum = ProbabilityMean(), None
        for m in range(members):
            t0, note = time.perf_counter(), "loaded"
            if load is not None:
                kept = np.load(load / f"seed{s}-member{m}.npz")
                logits, y, inv_ps = kept["logits"], sp.csr_matrix(kept["y"]), kept["inv_ps"]
            else:
                model, history = fit(mcfg, cfg, ex, emb, inv_ps=inv_ps, progress=False, member=m)
                device = resolve_device(cfg.device)
                logits = predict_logits(model, val, device, bf16=cfg.use_bf16(device))
                note = f"{len(history)} epochs, {time.perf_counter() - t0:.0f} s"
                if save is not None:
                    save.mkdir(parents=True, exist_ok=True)
                    np.savez_compressed(
                        save / f"seed{s}-member{m}.npz", logits=logits, y=y.toarray(), parents=parents, inv_ps=inv_ps
                    )
            probs.add(logits)
            logit_sum = logits.astype(np.float64) if logit_sum is None else logit_sum + logits
            rows = {
                "alone": evaluate_logits(rank(logits), y, inv_ps),
                "mean_prob": evaluate_logits(rank(probs.logits), y, inv_ps),
                "mean_logit": evaluate_logits(rank((logit_sum / (m + 1)).astype(np.float32)), y, inv_ps),
            }
            typer.echo(
                f"seed {s} member {m} ({note}): alone "
                + " ".join(f"{k} {rows['alone'][k]:.4f}" for k in ("P@1", "nDCG@5"))
            )
            for how in ("mean_prob", "mean_logit"):
                typer.echo(f"  ensemble of {m + 1}, {how:10s} " + " ".join(f"{k} {rows[how][k]:.4f}" for k in KEYS))
            typer.echo(json.dumps({"dataset": dataset, "seed": s, "set": set, "lift": lift, "members": m + 1, **rows}))


if __name__ == "__main__":
    typer.run(main)
