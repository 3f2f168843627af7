"""The training loop: length-bucketed batches, Adam, learning-rate decay on a validation plateau,
early stopping, and a checkpoint after every epoch (a killed run resumes from it and ends with the
same result).

Everything random is derived from one seed: the validation split (``split_validation``), the batch
order of epoch e (a generator seeded with ``(seed, e)``), the weights' initialisation and dropout
(torch's generator, saved in the checkpoint). Member m of an ensemble keeps the validation split of
``cfg.seed`` and draws everything else from ``member_seed(cfg.seed, m)``.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from pipeline import usage
from pipeline.engine import checkpoint as ckpt
from pipeline.engine.config import TrainConfig, member_seed
from pipeline.engine.device import resolve_device
from pipeline.engine.examples import Examples, bucketed_batches, split_validation
from pipeline.engine.infer import evaluate_logits, predict_logits
from pipeline.method.model import ModelConfig, TReaderXML

log = logging.getLogger(__name__)


def best_epoch(history: list[dict], monitor: str) -> int:
    """The epoch validation kept (the first with the best ``monitor``; 0 for no history)."""
    return max(history, key=lambda r: r[f"val_{monitor}"])["epoch"] if history else 0


def lr_factor(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """The scheduled share of the learning rate at 0-based ``step`` (warm-up, then cosine when asked)."""
    f = 1.0
    warm = cfg.warmup * steps_per_epoch
    if warm > 0:
        f = min(1.0, (step + 1) / warm)
    if cfg.schedule == "cosine":
        f *= 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, cfg.epochs * steps_per_epoch))))
    return f


def drop_teacher(teacher: torch.Tensor | None, p: float, rng: np.random.Generator) -> torch.Tensor | None:
    """Blank the teacher tokens of a share ``p`` of the rows (all padding: the model sees the text alone)."""
    if teacher is None or p <= 0:
        return teacher
    blank = torch.from_numpy(rng.random(teacher.shape[0]) < p).to(teacher.device)
    return teacher.masked_fill(blank[:, None], 0)


def match_prior(prior: torch.Tensor | None, teacher: torch.Tensor | None) -> torch.Tensor | None:
    """Zero the vote shares of the rows whose teacher sequence is empty (dropped by ``drop_teacher``)."""
    if prior is None or teacher is None:
        return prior
    return prior * (teacher != 0).any(dim=1, keepdim=True)


def positive_weights(inv_ps: np.ndarray | None, exponent: float, device) -> torch.Tensor | None:
    """The loss weight of each label's positives: its inverse propensity to the power ``exponent``
    (rare labels weigh more; Jain et al. 2016's propensity-scored loss at 1). None when off (0)."""
    if exponent == 0:
        return None
    if inv_ps is None:
        raise ValueError("train.propensity_weight needs the labels' inverse propensities (inv_ps)")
    return torch.from_numpy(np.asarray(inv_ps, np.float64) ** exponent).float().to(device)


def train_step(
    model: TReaderXML,
    opts,
    text,
    teacher,
    y,
    bf16: bool = False,
    clip: float = 0.0,
    prior=None,
    pos_weight: torch.Tensor | None = None,
) -> float:
    """One optimisation step on one batch (Eq. 19 loss); returns the batch loss."""
    with torch.autocast(text.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(text, teacher, prior)
    loss = TReaderXML.loss(logits.float(), y, pos_weight)
    for o in opts:
        o.zero_grad(set_to_none=True)
    loss.backward()
    if clip > 0:
        # every weight but the word embedding, whichever optimiser holds it
        dense = [p for p in model.parameters() if p is not model.embed.weight and p.grad is not None]
        torch.nn.utils.clip_grad_norm_(dense, clip)
    for o in opts:
        o.step()
    return float(loss.detach())


def optimizers(model: TReaderXML, lr: float, embedding_lr: float = 1.0) -> list[torch.optim.Optimizer]:
    """Adam for the dense weights; the embedding (SparseAdam when sparse) in a group of its own, at
    ``embedding_lr`` times the rate. Each group keeps its multiple in ``scale``."""
    emb = [model.embed.weight] if model.embed.weight.requires_grad else []
    dense = [p for p in model.parameters() if p.requires_grad and p is not model.embed.weight]
    groups = [{"params": emb, "lr": lr * embedding_lr, "scale": embedding_lr}] if emb else []
    if model.cfg.sparse_embedding and emb:
        return [torch.optim.Adam([{"params": dense, "lr": lr, "scale": 1.0}]), torch.optim.SparseAdam(groups)]
    return [torch.optim.Adam([{"params": dense, "lr": lr, "scale": 1.0}, *groups])]


def kill_hook(epoch: int, batch: int | None, member: int = 0) -> None:
    """Test hook: TREADER_TEST_KILL_AT="E" (after epoch E's checkpoint) or "E:B" (in epoch E, before
    batch B); "mM/..." for ensemble member M (no prefix: member 0)."""
    at = os.environ.get("TREADER_TEST_KILL_AT")
    here = f"{epoch}" if batch is None else f"{epoch}:{batch}"
    if at and at == (here if member == 0 else f"m{member}/{here}"):
        os.kill(os.getpid(), 9)


def fit(
    model_cfg: ModelConfig,
    cfg: TrainConfig,
    train: Examples,
    embeddings: torch.Tensor | None,
    *,
    checkpoint: Path | None = None,
    fingerprint: str = "",
    inv_ps: np.ndarray | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    progress: bool = True,
    member: int = 0,
    position: int = 0,
) -> tuple[TReaderXML, list[dict]]:
    """Train on ``train`` minus a seeded validation split; return the best model and the history.

    With ``checkpoint``, state is saved after every epoch and a run with the same ``fingerprint``
    continues from it. ``on_epoch`` is called with each history row (replayed rows first when
    resuming). ``inv_ps`` (the outputs' inverse propensities) adds validation PSP@k and is what
    ``train.propensity_weight`` weighs by. ``position`` is the terminal line of the progress bar
    (one per process training at once).
    """
    device = resolve_device(cfg.device)
    bf16 = cfg.use_bf16(device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed = member_seed(cfg.seed, member)
    random.seed(seed)
    torch.manual_seed(seed)
    fit_idx, val_idx = split_validation(len(train), cfg.val_fraction, cfg.seed)
    fit_set, val_set = train.subset(fit_idx), train.subset(val_idx)
    model = TReaderXML(model_cfg, embeddings)
    model.init_output_bias(torch.from_numpy(np.asarray(fit_set.y.mean(axis=0)).ravel()))
    model = model.to(device)
    opts = optimizers(model, cfg.lr, cfg.embedding_lr)
    pos_weight = positive_weights(inv_ps, cfg.propensity_weight, device)
    history: list[dict] = []
    best = {"metric": -1.0, "epoch": 0, "state": copy.deepcopy(model.state_dict())}  # the weights validation keeps
    bad, start_epoch, lr = 0, 1, cfg.lr
    state = ckpt.load(checkpoint, device, fingerprint) if checkpoint is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        for o, s in zip(opts, state["optimizers"]):
            o.load_state_dict(s)
        history, best, bad, lr = state["history"], state["best"], state["bad"], state["lr"]
        start_epoch = state["epoch"] + 1
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["python_rng"])
        log.info("resuming from %s after epoch %d", checkpoint, state["epoch"])
    elif checkpoint is not None and checkpoint.exists():
        log.info("ignoring %s: it belongs to other inputs or parameters", checkpoint)
    for row in history:
        if on_epoch:
            on_epoch(row)
    who = f"member {member + 1}/{cfg.members}, " if cfg.members > 1 else ""

    for epoch in range(start_epoch, cfg.epochs + 1):
        if bad >= cfg.early_stop:
            break
        model.train()
        batches = bucketed_batches(fit_set.lengths(), cfg.batch_size, cfg.bucket, np.random.default_rng([seed, epoch]))
        drop_rng = np.random.default_rng([seed, epoch, 1])
        total, seen, t0 = 0.0, 0, time.perf_counter()
        desc = f"{who}epoch {epoch}/{cfg.epochs}"
        bar = tqdm(batches, desc=desc, disable=not progress, unit="batch", leave=False, position=position)
        for b, idx in enumerate(bar):
            kill_hook(epoch, b, member)
            for o in opts:
                for g in o.param_groups:
                    g["lr"] = lr * g["scale"] * lr_factor(cfg, (epoch - 1) * len(batches) + b, len(batches))
            text, teacher, y = fit_set.tensors(idx, device)
            teacher = drop_teacher(teacher, cfg.teacher_dropout, drop_rng)
            prior = match_prior(fit_set.prior_batch(idx, device), teacher)
            loss = train_step(model, opts, text, teacher, y, bf16, cfg.clip, prior, pos_weight)
            total += loss * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        bar.close()
        took = time.perf_counter() - t0
        val = evaluate_logits(predict_logits(model, val_set, device, bf16=bf16), val_set.y, inv_ps)
        improved = val[cfg.monitor] > best["metric"]
        row = {
            "epoch": epoch,
            "loss": total / max(seen, 1),
            "lr": lr,
            "docs_per_s": seen / took,
            "seconds": round(time.perf_counter() - t0, 2),
            "peak_mb": usage.peak_rss_mb(),
            "val_P@1": val["P@1"],
            "val_nDCG@5": val["nDCG@5"],
            f"val_{cfg.monitor}": val[cfg.monitor],
            **({"val_PSP@5": val["PSP@5"]} if "PSP@5" in val else {}),  # PSP with the propensities given
        }
        history.append(row)
        if improved:
            best = {"metric": val[cfg.monitor], "epoch": epoch, "state": copy.deepcopy(model.state_dict())}
            bad = 0
        else:
            bad += 1
            if bad % cfg.lr_patience == 0:
                lr *= cfg.lr_decay
        log.info(
            "%sepoch %d: loss %.4f, val P@1 %.4f, val %s %.4f, %.1f docs/s%s",
            who, epoch, row["loss"], val["P@1"], cfg.monitor, val[cfg.monitor], row["docs_per_s"],
            " (early stop)" if bad >= cfg.early_stop else "",
        )  # fmt: skip
        if checkpoint is not None:
            ckpt.save(
                {
                    "fingerprint": fingerprint,
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizers": [o.state_dict() for o in opts],
                    "history": history,
                    "best": best,
                    "bad": bad,
                    "lr": lr,
                    "torch_rng": torch.get_rng_state(),
                    "python_rng": random.getstate(),
                },
                checkpoint,
            )
        if on_epoch:
            on_epoch(row)
        kill_hook(epoch, None, member)
    model.load_state_dict(best["state"])
    return model, history
