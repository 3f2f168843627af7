"""Stage `train`: the TReaderXML network on the train split -> models/<dataset>/.

A validation split is carved from train (seeded); the model with the best
validation score is kept. A checkpoint is written after every epoch to
checkpoints/<dataset>/train.ckpt ($TREADER_CHECKPOINTS instead of checkpoints/ when
set, as `treader table` does for its experiments): a killed run started again resumes from it (when
its inputs and parameters are unchanged) and ends with the same result. Training
curves go to dvclive/ (`dvc plots show`).

With `train.members` > 1 the network is trained that many times (member m from
``member_seed(train.seed, m)``, same validation split), each with its own checkpoint
(train-member<m>.ckpt) and curves (dvclive member<m>/...); the model directory holds every member
and prediction averages their probabilities. Growing or shrinking the ensemble keeps the members
already trained. With `train.jobs` > 1 (or auto) on a CPU, that many members train at once, each in
its own process with its share of the cores (``member_jobs``).
"""

import dataclasses
import time
from pathlib import Path

import typer
from _stage import load_params, stage

from pipeline import settings
from pipeline.engine import bundle
from pipeline.engine.config import TrainConfig
from pipeline.engine.device import precision_note, resolve_device
from pipeline.engine.ensemble import member_jobs, train_members, training_record
from pipeline.engine.examples import load_training_inputs
from pipeline.io import atomic_dir
from pipeline.method.model import check_reading
from pipeline.paths import Artifacts, checkpoint_dir, model_dir


def main(
    params: Path = typer.Option(
        "params.yaml", help="Parameter file (`dataset`, `teacher`, `reading`, `model`, `train`, ...)."
    ),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
    models: Path = typer.Option("models", help="Where the trained model directory goes."),
    live_dir: Path = typer.Option("dvclive", help="dvclive folder for the training curves."),
) -> None:
    """Train TReaderXML (or an ablation of it) and save everything prediction needs."""
    with stage("train"):
        p = load_params(params)
        name, art, use_teacher = p["dataset"], Artifacts(data, p["dataset"]), bool(p["teacher"])
        check_reading(p["reading"])
        if said := settings.describe(p, ("model", "train", "neighbours")):
            typer.echo(said)
        vectors = p["neighbours"].get("vectors") or "word2vec"  # its domain: the check stage
        cfg = TrainConfig.from_dict(p["train"])
        device = resolve_device(cfg.device)
        # `auto` resolved here, so the checkpoint's fingerprint and config.json record the precision used
        cfg = dataclasses.replace(cfg, bf16=cfg.use_bf16(device))
        typer.echo(f"{name}: {precision_note(device, cfg.bf16, p['train'].get('bf16'))}")
        ev = p["evaluate"]
        inputs = load_training_inputs(
            art, teacher=use_teacher, propensity_a=ev["propensity_a"], propensity_b=ev["propensity_b"]
        )
        model_cfg = inputs.model_config(p["model"], reading=p["reading"], teacher=use_teacher)
        jobs, threads = member_jobs(cfg, device)
        if jobs > 1:  # the threads each process gets count in its checkpoint's fingerprint and in config.json
            cfg = dataclasses.replace(cfg, threads=threads)
            typer.echo(
                f"{name}: {jobs} of the {cfg.members} members at a time, each in its own process with "
                f"{threads} thread{'s' if threads > 1 else ''} (train.jobs: {p['train'].get('jobs', 1)})"
            )
        live, started = _Live(live_dir), time.perf_counter()
        runs = train_members(model_cfg, cfg, inputs.examples, inputs.embeddings, checkpoint_dir(name), inputs.files,
                             inv_ps=inputs.inv_ps, jobs=jobs, on_epoch=live.log)  # fmt: skip
        live.end()
        config = training_record(
            runs, model_cfg, cfg, inputs, device, time.perf_counter() - started, dataset=name, data=p[name],
            neighbours={**p["neighbours"], "vectors": vectors}, tfidf=p["tfidf"], teacher_set=p["teacher_set"],
        )  # fmt: skip
        if cfg.members > 1:
            alone = ", ".join(f"{max(r[f'val_{cfg.monitor}'] for r in m['history']):.4f}" for m in config["members"])
            typer.echo(f"{name}: validation of the {cfg.members} members alone ({cfg.monitor}): {alone}; "
                       f"of their ensemble: {config['ensemble_val'][cfg.monitor]:.4f}")  # fmt: skip
        with atomic_dir(model_dir(models, name)) as out:
            bundle.save_bundle(out, [r.model for r in runs], config, art, inputs.docs)
        kept = (f"{cfg.members} members, best epochs {[m['best_epoch'] for m in config['members']]}" if cfg.members > 1
                else f"best epoch {config['best_epoch']}")  # fmt: skip
        typer.echo(f"{name}: trained {p['reading']} (teacher {'on' if use_teacher else 'off'}), {kept}")


class _Live:
    """dvclive, started afresh each run; a resumed run replays the checkpoint's history first.
    Member 0's curves are named loss, val_P_at_1, ...; member m's member<m>/loss, ... (step = epoch - 1)."""

    def __init__(self, path: Path):
        from dvclive import Live

        self.live = Live(dir=str(path), resume=False, dvcyaml=None, save_dvc_exp=False)

    def log(self, row: dict, member: int = 0) -> None:
        self.live.step = row["epoch"] - 1
        for key in ("loss", "val_P@1", "val_nDCG@5", "val_PSP@5", "lr"):
            if key in row:
                self.live.log_metric((f"member{member}/" if member else "") + key.replace("@", "_at_"), row[key])
        self.live.next_step()

    def end(self) -> None:
        self.live.end()


if __name__ == "__main__":
    typer.run(main)
