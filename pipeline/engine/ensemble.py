"""An ensemble's members (``train.members``), trained one after the other or several at once, each
in a process of its own (``train.jobs``). Member m draws its initialisation, batch order and dropout
from ``member_seed(seed, m)``; prediction averages the members' probabilities (``infer.ProbabilityMean``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from pipeline import usage
from pipeline.engine.checkpoint import checkpoint_file, fingerprint
from pipeline.engine.config import TrainConfig
from pipeline.engine.examples import Examples, TrainingInputs, split_validation
from pipeline.engine.infer import ensemble_logits, evaluate_logits
from pipeline.engine.loop import best_epoch, fit
from pipeline.errors import TreaderError
from pipeline.method.model import ModelConfig, TReaderXML


class TrainingProcessDied(TreaderError):
    """A process training members at once (``train.jobs`` > 1) ended without a result: killed, or
    out of memory. The checkpoints of every member are kept, so running again resumes them."""


@dataclass
class MemberRun:
    """What one ensemble member's training gave."""

    model: TReaderXML
    history: list[dict]


def member_jobs(cfg: TrainConfig, device: torch.device) -> tuple[int, int]:
    """(members trained at once, torch threads each) for ``cfg`` on ``device``.

    Several at once only on a CPU: small products do not use two cores well, so two one-thread
    processes train more documents per second than one two-thread process (bench/train_speed.py).
    ``auto`` takes as many as there are members and cores. Each process gets ``train.threads``
    threads, or (0) the cores shared out among them; one process alone keeps ``train.threads`` as
    it is (0: torch's default)."""
    cores = torch.get_num_threads()
    if device.type != "cpu":
        return 1, cfg.threads
    jobs = min(cfg.members, cores if cfg.jobs == "auto" else cfg.jobs)
    if jobs <= 1:
        return 1, cfg.threads
    return jobs, cfg.threads or max(1, cores // jobs)


def train_members(
    model_cfg: ModelConfig,
    cfg: TrainConfig,
    train: Examples,
    embeddings: np.ndarray,
    checkpoints: Path,
    inputs: list[Path],
    *,
    inv_ps: np.ndarray | None = None,
    on_epoch: Callable[[dict, int], None] | None = None,
    jobs: int = 1,
    progress: bool = True,
) -> list[MemberRun]:
    """Train the ``cfg.members`` members of an ensemble, with a checkpoint each in ``checkpoints``
    (``checkpoint_file``), and return them in member order. ``on_epoch(row, member)`` gets every
    history row (the rows a resumed checkpoint replays too).

    With ``jobs`` > 1, that many members train at once, each in a process of its own (started
    afresh: "spawn"); the rows reach ``on_epoch`` in this process as their epochs end. A member
    gives the same network either way, for the same ``cfg.threads``: what it draws depends on its
    seed alone. A process that dies (killed, out of memory) ends the others too and raises
    ``TrainingProcessDied``; every member's checkpoints are kept for the next run."""
    args = (model_cfg, cfg, train, embeddings, checkpoints, inputs, inv_ps)
    if jobs <= 1 or cfg.members <= 1:
        return [_train_member(*args, m, on_epoch, progress) for m in range(cfg.members)]
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")
    rows, lock = ctx.Queue(), ctx.RLock()
    runs: dict[int, MemberRun] = {}

    def drain(block: bool) -> None:
        while True:
            try:
                row, m = rows.get(timeout=0.2) if block else rows.get_nowait()
            except queue_mod.Empty:
                return
            block = False
            if on_epoch:
                on_epoch(row, m)

    init = (rows, lock, logging.getLogger().level, progress)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=init) as pool:
        pending = {pool.submit(_member_worker, *args, m, m % jobs): m for m in range(cfg.members)}
        try:
            while pending:
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                drain(block=not done)
                for f in done:
                    m = pending.pop(f)
                    drain(block=False)  # the member's last rows are queued before its result
                    runs[m] = _from_worker(model_cfg, f.result())
        except BrokenProcessPool:
            drain(block=False)
            raise TrainingProcessDied(
                f"a process training ensemble members at once (train.jobs: {jobs}) died, killed or out of memory; "
                f"every member's checkpoint is kept in {checkpoints}: run again to resume "
                "(train.jobs: 1 trains one at a time)"
            ) from None
    return [runs[m] for m in range(cfg.members)]


def _train_member(
    model_cfg, cfg, train, embeddings, checkpoints, inputs, inv_ps, m, on_epoch, progress, position=0
) -> MemberRun:
    model, history = fit(
        model_cfg,
        cfg,
        train,
        torch.from_numpy(embeddings),
        member=m,
        checkpoint=checkpoints / checkpoint_file(m),
        fingerprint=fingerprint([model_cfg.to_dict(), cfg.member_settings(), {"member": m}], inputs),
        inv_ps=inv_ps,
        on_epoch=(lambda row: on_epoch(row, m)) if on_epoch else None,
        progress=progress,
        position=position,
    )
    return MemberRun(model, history)


_worker_rows = None  # in a process of train_members: the queue its history rows go to
_worker_progress = True


def _worker_init(rows, lock, level: int, progress: bool) -> None:
    global _worker_rows, _worker_progress
    _worker_rows, _worker_progress = rows, progress
    tqdm.set_lock(lock)  # the processes' bars share the terminal, one line each
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _member_worker(model_cfg, cfg, train, embeddings, checkpoints, inputs, inv_ps, m, position):
    """One member in a process of its own; weights go back as numpy arrays (no shared memory)."""
    run = _train_member(
        model_cfg, cfg, train, embeddings, checkpoints, inputs, inv_ps, m,
        lambda row, m: _worker_rows.put((row, m)), _worker_progress, position,
    )  # fmt: skip
    return {k: v.detach().cpu().numpy() for k, v in run.model.state_dict().items()}, run.history


def _from_worker(model_cfg: ModelConfig, result) -> MemberRun:
    state, history = result
    net = TReaderXML(model_cfg)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return MemberRun(net, history)


def training_record(
    runs: list[MemberRun],
    model_cfg: ModelConfig,
    cfg: TrainConfig,
    inputs: TrainingInputs,
    device: torch.device,
    wall_s: float,
    *,
    dataset: str,
    **settings: dict,
) -> dict:
    """What a model directory's config.json records of its training: the network's and training's
    settings, the ``dataset``, ``settings`` (the data, neighbour, tfidf and teacher-set sections prediction
    needs), member 0's history and kept epoch, and the cost (time summed over epochs and members, so a
    resumed run still reports the whole training; ``train_wall_s``, this run's clock time, is less when
    members train at once; memory the largest peak). With several members, each one's history and kept
    epoch, and the ensemble's scores on the validation split (``ensemble_val``)."""
    histories = [r.history for r in runs]
    rows = [r for h in histories for r in h]
    record = {
        "dataset": dataset,
        "model": model_cfg.to_dict(),
        "train": cfg.to_dict(),
        **settings,
        "history": histories[0],
        "best_epoch": best_epoch(histories[0], cfg.monitor),
        "usage": {
            "train_s": round(sum(r["seconds"] for r in rows), 1),
            "train_wall_s": round(wall_s, 1),
            "train_peak_mb": max([usage.peak_rss_mb(), *(r.get("peak_mb", 0.0) for r in rows)]),
        },
    }
    if cfg.members > 1:
        val = inputs.examples.subset(split_validation(len(inputs.examples), cfg.val_fraction, cfg.seed)[1])
        record["members"] = [{"best_epoch": best_epoch(h, cfg.monitor), "history": h} for h in histories]
        logits = ensemble_logits([r.model for r in runs], val, device, bf16=cfg.bf16)
        record["ensemble_val"] = evaluate_logits(logits, val.y, inputs.inv_ps)
    return record
