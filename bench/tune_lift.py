"""Choose `evaluate.lift_parents`, or any training setting judged by its full validation metrics
(PSP@k included), on the validation split carved from train (never test).

    python bench/tune_lift.py --dataset rcv1-v2-subset --seed 13 --seed 14
    python bench/tune_lift.py --dataset reuters21578 --set train.propensity_weight=0.5

For each seed, trains as the `train` stage does (params.yaml plus `--set` overrides, as in
bench/tune_train.py) and scores the kept model's validation predictions twice: as the network
ranks them, and with each label's score lifted to its best descendant's
(`hierarchy.lift_to_descendants`). Prints both, and whether the train label sets are closed
under parents (what `auto` looks at), one line per epoch while training, and the metrics as a
JSON line. The test split is not read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from pipeline.data import hierarchy
from pipeline.engine.device import resolve_device
from pipeline.engine.examples import split_validation
from pipeline.engine.infer import evaluate_logits, predict_logits
from pipeline.engine.loop import fit

from _inputs import bench_params, label_parents, train_inputs
from tune_train import show_epoch


def main(
    dataset: str = "rcv1-v2-subset",
    data: Path = Path("data"),
    params: Path = Path("params.yaml"),
    seed: list[int] = typer.Option([13], "--seed", help="train.seed (also the validation split's seed); repeatable"),
    set: list[str] = typer.Option([], "--set", help="section.key=value override (repeatable)"),
    save: Path = typer.Option(
        None, help="Also write each seed's validation logits, targets and label parents to SAVE/seed<N>.npz"
    ),
) -> None:
    """Validation metrics of the network's ranking without and with the lift to descendants."""
    root = data / dataset
    parents, closed = label_parents(root)
    typer.echo(
        f"{dataset}: {int((parents >= 0).sum())} output labels have an output parent; train label sets closed under parents: {closed}"
    )
    for s in seed:
        p = bench_params(params, dataset, [*set, f"train.seed={s}"])
        ex, emb, mcfg, cfg, inv_ps = train_inputs(root, p)
        model, _ = fit(mcfg, cfg, ex, emb, inv_ps=inv_ps, progress=False, on_epoch=show_epoch)
        val = ex.subset(split_validation(len(ex), cfg.val_fraction, cfg.seed)[1])
        device = resolve_device(cfg.device)
        logits = predict_logits(model, val, device, bf16=cfg.use_bf16(device))
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(save / f"seed{s}.npz", logits=logits, y=val.y.toarray(), parents=parents, inv_ps=inv_ps)
        rows = {
            "network": evaluate_logits(logits, val.y, inv_ps),
            "lifted": evaluate_logits(hierarchy.lift_to_descendants(logits, parents), val.y, inv_ps),
        }
        for name, m in rows.items():
            typer.echo(
                f"seed {s} {name:8s} "
                + " ".join(f"{k} {m[k]:.4f}" for k in ("P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@5"))
            )
        typer.echo(json.dumps({"dataset": dataset, "seed": s, "set": set, **rows}))


if __name__ == "__main__":
    typer.run(main)
