"""Stage `train`: the TReaderXML network on the train split -> models/<dataset>/.

A validation split is carved from train (seeded); the model with the best
validation score is kept. A checkpoint is written after every epoch to
checkpoints/<dataset>/train.ckpt ($TREADER_CHECKPOINTS instead of checkpoints/ when
set, as `treader table` does for its experiments): a killed run started again resumes from it (when
its inputs and parameters are unchanged) and ends with the same result. Training
curves go to dvclive/ (`dvc plots show`).
"""

import os
from pathlib import Path

import numpy as np
import torch
import typer
from _stage import load_params, stage

from pipeline import metrics, predict, usage
from pipeline.io import atomic_dir, read_table
from pipeline.model import ModelConfig, check_reading
from pipeline.train import TrainConfig, fingerprint, fit, resolve_device


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `teacher`, `reading`, `model`, `train`, ...)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
    models: Path = typer.Option("models", help="Where the trained model directory goes."),
    live_dir: Path = typer.Option("dvclive", help="dvclive folder for the training curves."),
) -> None:
    """Train TReaderXML (or an ablation of it) and save everything prediction needs."""
    with stage("train"):
        p = load_params(params)
        name, root, use_teacher = p["dataset"], data / p["dataset"], bool(p["teacher"])
        check_reading(p["reading"])
        cfg = TrainConfig.from_dict(p["train"])
        resolve_device(cfg.device)
        docs = read_table(root / "prepared" / "train.parquet", "documents")
        labels = read_table(root / "prepared" / "labels.parquet", "labels")
        outputs = predict.target_labels(labels)
        tokens = read_table(root / "tokens" / "train.parquet", "tokens")
        teach = read_table(root / "teacher" / "train.parquet", "teacher") if use_teacher else None
        emb = np.load(root / "embed" / "embeddings.npy")
        model_cfg = ModelConfig.from_params(p["model"], name, vocab_size=emb.shape[0], n_labels=len(outputs),
                                            d_model=emb.shape[1], reading=p["reading"], teacher=use_teacher)
        inputs = [root / "prepared" / "train.parquet", root / "tokens" / "train.parquet", root / "embed" / "embeddings.npy"]
        inputs += [root / "teacher" / "train.parquet"] if use_teacher else []
        counts = labels.filter(labels["train_count"].to_numpy() > 0)["train_count"].to_numpy()
        live = _Live(live_dir)
        model, history = fit(model_cfg, cfg, predict.examples(tokens, teach, docs, outputs), torch.from_numpy(emb),
                             checkpoint=Path(os.environ.get("TREADER_CHECKPOINTS", "checkpoints")) / name / "train.ckpt",
                             fingerprint=fingerprint([model_cfg.to_dict(), cfg.to_dict()], inputs),
                             inv_ps=metrics.inverse_propensity(counts, len(docs)), on_epoch=live.log)
        live.end()
        config = {"dataset": name, "model": model_cfg.to_dict(), "train": cfg.to_dict(), "data": p[name],
                  "neighbours": p["neighbours"], "teacher_set": p["teacher_set"], "history": history,
                  "best_epoch": max(history, key=lambda r: r[f"val_{cfg.monitor}"])["epoch"] if history else 0,
                  # over epochs (time summed, memory the largest peak), so a resumed run still reports the whole training
                  "usage": {"train_s": round(sum(r["seconds"] for r in history), 1),
                            "train_peak_mb": max([usage.peak_rss_mb(), *(r.get("peak_mb", 0.0) for r in history)])}}
        vec = read_table(root / "embed" / "train.parquet", "vectors")
        with atomic_dir(models / name) as out:
            predict.save_bundle(out, model, config, vocab=root / "tokens" / "vocab.parquet", labels=root / "prepared" / "labels.parquet",
                                label_tokens=root / "tokens" / "labels.parquet", embeddings=root / "embed" / "embeddings.npy",
                                train_docs=docs, train_vectors=vec, index=_index(root, p))
        typer.echo(f"{name}: trained {p['reading']} (teacher {'on' if use_teacher else 'off'}), best epoch {config['best_epoch']}")


def _index(root: Path, p: dict):
    f = root / "neighbours" / "index.ann"
    return f if p["teacher"] and p["neighbours"]["backend"] == "annoy" and f.exists() else None


class _Live:
    """dvclive, started afresh each run; a resumed run replays the checkpoint's history first."""

    def __init__(self, path: Path):
        from dvclive import Live

        self.live = Live(dir=str(path), resume=False, dvcyaml=None, save_dvc_exp=False)

    def log(self, row: dict) -> None:
        for key in ("loss", "val_P@1", "val_nDCG@5", "lr"):
            self.live.log_metric(key.replace("@", "_at_"), row[key])
        self.live.next_step()

    def end(self) -> None:
        self.live.end()


if __name__ == "__main__":
    typer.run(main)
