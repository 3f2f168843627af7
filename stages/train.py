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

from pipeline import settings, usage
from pipeline.engine import predict
from pipeline.engine.config import TrainConfig
from pipeline.engine.device import resolve_device
from pipeline.engine.ensemble import member_jobs, train_members
from pipeline.engine.examples import load_training_inputs, split_validation
from pipeline.engine.infer import ensemble_logits, evaluate_logits
from pipeline.engine.loop import best_epoch
from pipeline.io import atomic_dir, read_table
from pipeline.method import neighbours as nb
from pipeline.method.model import ModelConfig, check_reading
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
        vectors = nb.vectors_for(p["neighbours"].get("vectors"))
        cfg = TrainConfig.from_dict(p["train"])
        device = resolve_device(cfg.device)
        # `auto` resolved here, so the checkpoint's fingerprint and config.json record the precision used
        cfg = dataclasses.replace(cfg, bf16=cfg.use_bf16(device))
        why = (
            "the GPU computes bf16"
            if cfg.bf16
            else "fp32 is faster on a CPU"
            if device.type == "cpu"
            else "the GPU lacks bf16"
        )
        typer.echo(
            f"{name}: training on {device}, {'bf16 autocast' if cfg.bf16 else 'fp32'}"
            + (f" (train.bf16 auto: {why})" if p["train"].get("bf16") == "auto" else "")
        )
        ev = p["evaluate"]
        inputs = load_training_inputs(
            art, teacher=use_teacher, propensity_a=ev["propensity_a"], propensity_b=ev["propensity_b"]
        )
        emb = inputs.embeddings
        model_cfg = ModelConfig.from_params(
            p["model"],
            vocab_size=emb.shape[0],
            n_labels=len(inputs.outputs),
            d_model=emb.shape[1],
            reading=p["reading"],
            teacher=use_teacher,
        )
        jobs, threads = member_jobs(cfg, device)
        if jobs > 1:  # the threads each process gets count in its checkpoint's fingerprint and in config.json
            cfg = dataclasses.replace(cfg, threads=threads)
            typer.echo(
                f"{name}: {jobs} of the {cfg.members} members at a time, each in its own process with {threads} "
                f"thread{'s' if threads > 1 else ''} (train.jobs: {p['train'].get('jobs', 1)})"
            )
        live = _Live(live_dir)
        started = time.perf_counter()
        runs = train_members(
            model_cfg,
            cfg,
            inputs.examples,
            emb,
            checkpoint_dir(name),
            inputs.files,
            inv_ps=inputs.inv_ps,
            jobs=jobs,
            on_epoch=live.log,
        )
        wall_s = time.perf_counter() - started
        members, histories = [r.model for r in runs], [r.history for r in runs]
        live.end()
        rows = [r for h in histories for r in h]
        config = {
            "dataset": name,
            "model": model_cfg.to_dict(),
            "train": cfg.to_dict(),
            "data": p[name],
            "neighbours": {**p["neighbours"], "vectors": vectors},
            "tfidf": p["tfidf"],
            "teacher_set": p["teacher_set"],
            "history": histories[0],
            "best_epoch": best_epoch(histories[0], cfg.monitor),
            # over epochs and members (time summed, memory the largest peak), so a resumed run still reports the whole training;
            # train_wall_s: this run's clock time, less than train_s when members train at once (train.jobs)
            "usage": {
                "train_s": round(sum(r["seconds"] for r in rows), 1),
                "train_wall_s": round(wall_s, 1),
                "train_peak_mb": max([usage.peak_rss_mb(), *(r.get("peak_mb", 0.0) for r in rows)]),
            },
        }
        if cfg.members > 1:
            val = inputs.examples.subset(split_validation(len(inputs.examples), cfg.val_fraction, cfg.seed)[1])
            config["members"] = [{"best_epoch": best_epoch(h, cfg.monitor), "history": h} for h in histories]
            config["ensemble_val"] = evaluate_logits(
                ensemble_logits(members, val, device, bf16=cfg.bf16), val.y, inputs.inv_ps
            )
            typer.echo(
                f"{name}: validation of the {cfg.members} members alone ({cfg.monitor}): "
                + ", ".join(f"{max(r[f'val_{cfg.monitor}'] for r in h):.4f}" for h in histories)
                + f"; of their ensemble: {config['ensemble_val'][cfg.monitor]:.4f}"
            )
        index = (
            art.annoy_index if use_teacher and vectors == "word2vec" and p["neighbours"]["backend"] == "annoy" else None
        )
        with atomic_dir(model_dir(models, name)) as out:
            predict.save_bundle(
                out,
                members,
                config,
                vocab=art.vocab,
                labels=art.labels,
                label_tokens=art.label_tokens,
                embeddings=art.embeddings,
                train_docs=inputs.docs,
                train_vectors=read_table(art.vectors("train"), "vectors"),
                index=index if index is not None and index.exists() else None,
                tfidf_dir=art.tfidf_dir if use_teacher and vectors == "tfidf" else None,
            )
        typer.echo(
            f"{name}: trained {p['reading']} (teacher {'on' if use_teacher else 'off'}), "
            + (
                f"{cfg.members} members, best epochs {[c['best_epoch'] for c in config['members']]}"
                if cfg.members > 1
                else f"best epoch {config['best_epoch']}"
            )
        )


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
