"""Training: length-bucketed batches, Adam, learning-rate decay on plateau, early stopping,
a checkpoint after every epoch (a killed run resumes from it and ends with the same result).

Everything random is derived from one seed: the validation split, the batch order of
epoch e (a generator seeded with ``(seed, e)``), the weights' initialisation and dropout
(torch's generator, saved in the checkpoint).

With ``refit``, each network is trained a second time, from the same initialisation, on all of
train (validation split included) for as many epochs as validation kept, each at the learning rate
the first run had then (``refit_schedule``); that second network is the one kept. Its epochs cannot
be judged (the validation texts are in its training), so the schedule is the first run's.

An ensemble (``members`` > 1) trains the same network several times on the same fit and
validation split; member m draws its initialisation, batch order and dropout from
``member_seed(seed, m)`` (member 0 from ``seed`` itself, so one member is the plain model).
It ranks by the mean of the members' probabilities (``ProbabilityMean``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import random
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
import torch
from tqdm import tqdm

from pipeline import metrics, usage
from pipeline.errors import ConfigError, TreaderError
from pipeline.model import ModelConfig, TReaderXML
from pipeline.params import for_dataset

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 20  # at most
    batch_size: int = 32
    lr: float = 1e-4  # paper: Adam at 1e-4
    lr_decay: float = 0.5  # multiply the learning rate by this ...
    lr_patience: int = 1  # ... after this many epochs without validation improvement
    embedding_lr: float = 1.0  # the word embedding's learning rate, as a multiple of lr
    schedule: str = "plateau"  # plateau: only the decay above | cosine: also a cosine from lr to 0 over `epochs`
    warmup: float = 0.0  # epochs of linear warm-up from 0 to lr
    clip: float = 0.0  # clip the dense gradients to this global norm (0: off)
    teacher_dropout: float = 0.0  # share of training texts shown without their teacher set, drawn anew each epoch
    propensity_weight: float = 0.0  # weigh label l's positives in the loss by (1/p_l)^this (Jain et al. 2016 propensity; 0: off)
    ema: float = 0.0  # validate and keep an exponential moving average of the weights with this decay per step (0: off)
    early_stop: int = 3  # stop after this many epochs without improvement
    monitor: str = "nDCG@5"  # validation metric that decides "improvement" and the kept model
    val_fraction: float = 0.1  # carved from train, seeded
    seed: int = 13
    device: str = "auto"  # auto | cpu | cuda
    bf16: bool | str = False  # bf16 autocast: true | false | auto (on a CUDA device that computes bf16; ``auto_bf16``)
    bucket: int = 50  # batches per length bucket (more: less padding, less randomness)
    threads: int = 0  # torch CPU threads (0: torch's default)
    members: int = 1  # networks in the ensemble (each trained in full; prediction averages their probabilities)
    jobs: int | str = 1  # members trained at once on a CPU, each in its own process (auto: as many as cores and members allow)
    refit: bool = False  # train again on all of train with the schedule validation chose; keep that network

    def __post_init__(self):
        if self.lr <= 0 or self.batch_size < 1 or self.epochs < 1 or not 0 <= self.val_fraction < 1:
            raise ConfigError(f"invalid training settings: lr {self.lr}, batch_size {self.batch_size}, "
                             f"epochs {self.epochs}, val_fraction {self.val_fraction}")
        if self.schedule not in ("plateau", "cosine") or self.embedding_lr <= 0 or self.warmup < 0 or self.clip < 0 or not 0 <= self.teacher_dropout < 1:
            raise ConfigError(f"invalid training settings: schedule {self.schedule!r} (plateau | cosine), warmup {self.warmup}, "
                              f"embedding_lr {self.embedding_lr}, "
                              f"clip {self.clip}, teacher_dropout {self.teacher_dropout} (in [0, 1))")
        if isinstance(self.propensity_weight, bool) or not isinstance(self.propensity_weight, (int, float)) or self.propensity_weight < 0:
            raise ConfigError(f"train.propensity_weight is the exponent of the positives' weight (1/p_l)^x, a number >= 0 (0: off); got {self.propensity_weight!r}")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"invalid training settings: train.ema is the averaging decay per step, in [0, 1) (0: off); got {self.ema}")
        if isinstance(self.members, bool) or not isinstance(self.members, int) or self.members < 1:
            raise ConfigError(f"train.members must be a whole number >= 1 (or a mapping of dataset names to one); got {self.members!r}")
        if not (self.jobs == "auto" or (isinstance(self.jobs, int) and not isinstance(self.jobs, bool) and self.jobs >= 1)):
            raise ConfigError(f"train.jobs is how many members train at once on a CPU, a whole number >= 1 or auto; got {self.jobs!r}")
        if not isinstance(self.refit, bool):
            raise ConfigError(f"train.refit must be true or false; got {self.refit!r}")
        if self.refit and self.val_fraction == 0:
            raise ConfigError("train.refit needs a validation split to choose its epochs (train.val_fraction > 0)")
        if self.bf16 not in (True, False, "auto"):
            raise ConfigError(f"train.bf16 must be true, false or auto (bf16 on a CUDA device that computes it, fp32 on the CPU); got {self.bf16!r}")
        if self.monitor not in ("P@1", "P@3", "P@5", "nDCG@1", "nDCG@3", "nDCG@5"):
            raise ConfigError(f"train.monitor must be P@k or nDCG@k for k in 1, 3, 5; got {self.monitor!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def use_bf16(self, device: torch.device) -> bool:
        """Whether training on ``device`` runs under bf16 autocast: ``bf16`` itself, or for ``auto``
        what ``auto_bf16`` picks for the device."""
        return auto_bf16(device) if self.bf16 == "auto" else bool(self.bf16)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    @classmethod
    def from_params(cls, train: dict, dataset: str) -> "TrainConfig":
        """From a `train` parameter section, with `train.members` and `train.propensity_weight` given once
        or per dataset ({name: value}; a dataset not listed gets 1 member, no weighting)."""
        return cls.from_dict({**train, "members": for_dataset(train.get("members", 1), dataset, 1),
                              "propensity_weight": for_dataset(train.get("propensity_weight", 0.0), dataset, 0.0)})

    def member_settings(self) -> dict:
        """What one member's (first) training depends on: every setting but the ensemble's size and
        whether a refit follows it, or how many members train at once (``jobs``; the threads each
        one gets do count)."""
        return {k: v for k, v in self.to_dict().items() if k not in ("members", "refit", "jobs")}


def member_seed(seed: int, member: int) -> int:
    """The seed member ``member`` of an ensemble draws its initialisation, batches and dropout from
    (member 0: ``seed`` itself)."""
    if member == 0:
        return seed
    return int(np.random.SeedSequence([seed, member]).generate_state(1)[0] >> 1)


def checkpoint_file(member: int, refit: bool = False) -> str:
    """The checkpoint file of ensemble member ``member`` (0: the first, or only, network), or of its refit."""
    return ("train" if member == 0 else f"train-member{member}") + ("-refit" if refit else "") + ".ckpt"


def best_epoch(history: list[dict], monitor: str) -> int:
    """The epoch validation kept (the first with the best ``monitor``; 0 for no history)."""
    return max(history, key=lambda r: r[f"val_{monitor}"])["epoch"] if history else 0


def refit_schedule(history: list[dict], monitor: str) -> list[float]:
    """The base learning rate of each epoch up to the one validation kept: what a refit replays."""
    return [r["lr"] for r in history[: best_epoch(history, monitor)]]


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively: a CUDA device that supports it, or a CPU with
    AVX512-BF16 or AMX. Elsewhere (an AVX2-only CPU, say) autocast emulates bf16 and is slower than
    fp32: 16.7 against 58.1 texts/s on an AMD EPYC here (bench/train_speed.py)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        checks = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
        return any(bool(check()) for check in checks if check is not None)
    return False


def auto_bf16(device: torch.device) -> bool:
    """What ``train.bf16: auto`` picks: bf16 autocast on a CUDA device that computes bf16, fp32 on
    the CPU. On the CPU bf16 autocast is slower than fp32 even with native bf16: 177.1 against
    265.9 texts/s on a Xeon with AMX, and 13.9 against 42.2 on an AVX2-only EPYC, where it is
    emulated (bench/train_speed.py at the default, fused attention)."""
    return device.type == "cuda" and native_bf16(device)


def resolve_device(name: str) -> torch.device:
    if name not in ("auto", "cpu", "cuda") and not str(name).startswith("cuda:"):
        raise ConfigError(f"device must be auto, cpu or cuda[:N], got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but torch sees no CUDA device (use 'auto' or 'cpu')")
    return torch.device(name)


class Ragged:
    """Token-id lists as one flat int64 array and offsets; batches are padded on the fly."""

    def __init__(self, lists: pa.ListArray | pa.ChunkedArray):
        lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
        self.values = pc.list_flatten(lists).to_numpy().astype(np.int64)
        offsets = lists.offsets.to_numpy().astype(np.int64)
        self.offsets = offsets - offsets[0]
        self.lengths = np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, idx: np.ndarray) -> torch.Tensor:
        width = max(1, int(self.lengths[idx].max()))
        out = np.zeros((len(idx), width), dtype=np.int64)
        for row, i in enumerate(idx):
            seq = self.values[self.offsets[i] : self.offsets[i + 1]]
            out[row, : len(seq)] = seq
        return torch.from_numpy(out)


@dataclass
class Examples:
    text: Ragged
    teacher: Ragged | None
    y: sp.csr_matrix  # (n, n_labels) binary
    prior: sp.csr_matrix | None = None  # (n, n_labels) teacher vote shares, for models with teacher_prior

    def __len__(self) -> int:
        return len(self.text)

    def subset(self, idx: np.ndarray) -> "Examples":
        sub = copy.copy(self)
        sub.text, sub.y = _take(self.text, idx), self.y[idx]
        sub.teacher = None if self.teacher is None else _take(self.teacher, idx)
        sub.prior = None if self.prior is None else self.prior[idx]
        return sub

    def lengths(self) -> np.ndarray:
        return self.text.lengths + (0 if self.teacher is None else self.teacher.lengths)

    def tensors(self, idx: np.ndarray, device):
        text = self.text.batch(idx).to(device)
        teacher = None if self.teacher is None else self.teacher.batch(idx).to(device)
        y = torch.from_numpy(self.y[idx].toarray().astype(np.float32)).to(device)
        return text, teacher, y

    def prior_batch(self, idx: np.ndarray, device) -> torch.Tensor | None:
        return None if self.prior is None else torch.from_numpy(self.prior[idx].toarray().astype(np.float32)).to(device)


def _take(r: Ragged, idx: np.ndarray) -> Ragged:
    out = Ragged.__new__(Ragged)
    out.lengths = r.lengths[idx]
    out.offsets = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(out.lengths, out=out.offsets[1:])
    out.values = np.concatenate([r.values[r.offsets[i] : r.offsets[i + 1]] for i in idx]) if len(idx) else np.zeros(0, np.int64)
    return out


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (fit, validation) index arrays."""
    perm = np.random.default_rng([seed, 7]).permutation(n)
    n_val = max(1, int(round(fraction * n))) if fraction > 0 else 0
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def bucketed_batches(lengths: np.ndarray, batch_size: int, bucket: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle, sort by length within chunks of ``bucket`` batches, cut into batches, shuffle the batches."""
    perm = rng.permutation(len(lengths))
    chunk = batch_size * bucket
    batches = []
    for start in range(0, len(perm), chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


class ProbabilityMean:
    """The mean of several score matrices' sigmoid probabilities, kept as a logit: add logits one
    member at a time, read ``logits``. In log space throughout (log p and log(1 - p) summed with
    logaddexp), so saturated scores neither overflow nor round to 0 or 1."""

    def __init__(self):
        self.n, self.first, self.log_p, self.log_q = 0, None, None, None

    def add(self, logits: np.ndarray) -> None:
        x = logits.astype(np.float64)
        log_p, log_q = -np.logaddexp(0.0, -x), -np.logaddexp(0.0, x)  # log sigmoid(x), log sigmoid(-x)
        self.n += 1
        if self.n == 1:
            self.first, self.log_p, self.log_q = logits, log_p, log_q
        else:
            self.log_p, self.log_q = np.logaddexp(self.log_p, log_p), np.logaddexp(self.log_q, log_q)

    @property
    def logits(self) -> np.ndarray:
        """logit(mean p) = log(sum p) - log(sum (1 - p)); one member: its logits unchanged."""
        return self.first if self.n == 1 else (self.log_p - self.log_q).astype(np.float32)


def ensemble_logits(models: list[TReaderXML], data: Examples, device, bf16: bool = False, progress: bool = False) -> np.ndarray:
    """An ensemble's scores: the logit of the mean of its members' probabilities (one member: its logits)."""
    mean = ProbabilityMean()
    for model in models:
        mean.add(predict_logits(model, data, device, bf16=bf16, progress=progress))
    return mean.logits


def predict_logits(model: TReaderXML, data: Examples, device, batch_size: int = 64, bf16: bool = False, progress: bool = False):
    """Logits for every example (in the original order), batched by length."""
    model.eval()
    order = np.argsort(data.lengths(), kind="stable")
    out = np.zeros((len(data), model.cfg.n_labels), dtype=np.float32)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for start in tqdm(range(0, len(order), batch_size), desc="predict", disable=not progress, unit="batch"):
            idx = order[start : start + batch_size]
            text, teacher, _ = data.tensors(idx, device)
            out[idx] = model(text, teacher, data.prior_batch(idx, device)).float().cpu().numpy()
    return out


def top_k(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and sigmoid scores of the k best labels per row, best first."""
    k = min(k, logits.shape[1])
    part = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(logits, part, 1)
    order = np.argsort(-vals, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, 1)
    return idx, 1.0 / (1.0 + np.exp(-np.take_along_axis(vals, order, 1)))


def evaluate_logits(logits: np.ndarray, y: sp.csr_matrix, inv_ps: np.ndarray | None = None, ks=(1, 3, 5)) -> dict[str, float]:
    idx, _ = top_k(logits, max(ks))
    return metrics.metrics_at_k(y, idx, inv_ps, ks)


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


def train_step(model: TReaderXML, opts, text, teacher, y, bf16: bool = False, clip: float = 0.0, prior=None,
               pos_weight: torch.Tensor | None = None) -> float:
    """One optimisation step on one batch (Eq. 19 loss); returns the batch loss."""
    with torch.autocast(text.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(text, teacher, prior)
    loss = TReaderXML.loss(logits.float(), y, pos_weight)
    for o in opts:
        o.zero_grad(set_to_none=True)
    loss.backward()
    if clip > 0:
        dense = [p for p in model.parameters() if p is not model.embed.weight and p.grad is not None]
        torch.nn.utils.clip_grad_norm_(dense, clip)  # every weight but the word embedding, whichever optimiser holds it
    for o in opts:
        o.step()
    return float(loss.detach())


class WeightAverage:
    """An exponential moving average of a model's floating-point weights (Polyak averaging).

    Each step, ``sum <- decay * sum + (1 - decay) * weights``; the average is
    ``sum / (1 - decay ** steps)``, the bias correction Adam uses for its moments, so the
    starting zeros carry no weight and early averages are plain means of the steps so far.
    ``swapped_in`` lends the average to the model (for validation) and puts the trained
    weights back afterwards.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay, self.steps = decay, 0
        self.sum = {k: torch.zeros_like(v) for k, v in model.state_dict().items() if v.is_floating_point()}

    def update(self, model: torch.nn.Module) -> None:
        self.steps += 1
        with torch.no_grad():
            current = model.state_dict()
            for k, v in self.sum.items():
                v.lerp_(current[k], 1 - self.decay)

    @property
    def state(self) -> dict[str, torch.Tensor]:
        """The averaged weights."""
        scale = 1.0 / (1.0 - self.decay ** self.steps) if self.steps else 0.0
        return {k: v * scale for k, v in self.sum.items()}

    @contextmanager
    def swapped_in(self, model: torch.nn.Module):
        trained = {k: v.detach().clone() for k, v in model.state_dict().items() if k in self.sum}
        if self.steps:
            model.load_state_dict(self.state, strict=False)
        try:
            yield model
        finally:
            model.load_state_dict(trained, strict=False)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "steps": self.steps, "sum": self.sum}

    def load_state_dict(self, d: dict) -> None:
        self.decay, self.steps = d["decay"], d["steps"]
        for k, v in d["sum"].items():
            self.sum[k].copy_(v)


def _optimizers(model: TReaderXML, lr: float, embedding_lr: float = 1.0):
    """Adam for the dense weights; the embedding (SparseAdam when sparse) in a group of its own, at
    ``embedding_lr`` times the rate. Each group keeps its multiple in ``scale``."""
    emb = [model.embed.weight] if model.embed.weight.requires_grad else []
    dense = [p for p in model.parameters() if p.requires_grad and p is not model.embed.weight]
    groups = [{"params": emb, "lr": lr * embedding_lr, "scale": embedding_lr}] if emb else []
    if model.cfg.sparse_embedding and emb:
        return [torch.optim.Adam([{"params": dense, "lr": lr, "scale": 1.0}]), torch.optim.SparseAdam(groups)]
    return [torch.optim.Adam([{"params": dense, "lr": lr, "scale": 1.0}, *groups])]


def fingerprint(settings: object, files: list[Path]) -> str:
    """What a checkpoint must match to be resumed: the settings, the input files and the training code."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for f in [Path(__file__), Path(__file__).with_name("model.py"), *files]:
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def _save(obj: dict, path: Path) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _kill_hook(epoch: int, batch: int | None, member: int = 0, phase: str = "") -> None:
    """Test hook: TREADER_TEST_KILL_AT="E" (after epoch E's checkpoint) or "E:B" (in epoch E, before batch B);
    "rE..." for the refit's epoch E; "mM/..." for ensemble member M (no prefix: member 0)."""
    at = os.environ.get("TREADER_TEST_KILL_AT")
    here = phase + (f"{epoch}" if batch is None else f"{epoch}:{batch}")
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
    replay: list[float] | None = None,
    position: int = 0,
) -> tuple[TReaderXML, list[dict]]:
    """Train on ``train`` minus a seeded validation split; return the best model and the history.

    With ``checkpoint``, state is saved after every epoch and a run with the same
    ``fingerprint`` continues from it. ``on_epoch`` is called with each history row
    (replayed rows first when resuming). ``member`` m of an ensemble keeps the validation
    split of ``cfg.seed`` and draws everything else from ``member_seed(cfg.seed, m)``.

    With ``replay`` (a refit: ``refit_schedule`` of a first run's history), there is no
    validation: all of ``train`` is trained on for ``len(replay)`` epochs, epoch e at base
    learning rate ``replay[e - 1]`` (warm-up and cosine factors apply as before), and the last
    weights are kept (their average, with ``ema``). The history rows then carry no ``val_`` keys.

    ``position`` is the line of the terminal its progress bar takes (one per process training at once).
    """
    device = resolve_device(cfg.device)
    bf16 = cfg.use_bf16(device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed = member_seed(cfg.seed, member)
    random.seed(seed)
    torch.manual_seed(seed)
    if replay is not None:
        if not replay:
            raise ValueError("a refit needs the learning rate of at least one epoch")
        fit_set, val_set, n_epochs, phase = train, None, len(replay), "r"
    else:
        fit_idx, val_idx = split_validation(len(train), cfg.val_fraction, cfg.seed)
        fit_set, val_set, n_epochs, phase = train.subset(fit_idx), train.subset(val_idx), cfg.epochs, ""
    model = TReaderXML(model_cfg, embeddings)
    model.init_output_bias(torch.from_numpy(np.asarray(fit_set.y.mean(axis=0)).ravel()))
    model = model.to(device)
    opts = _optimizers(model, cfg.lr, cfg.embedding_lr)
    average = WeightAverage(model, cfg.ema) if cfg.ema > 0 else None
    pos_weight = positive_weights(inv_ps, cfg.propensity_weight, device)
    history: list[dict] = []
    # the weights validation keeps (a refit keeps its last ones and has none)
    best = {"metric": -1.0, "epoch": 0, "state": copy.deepcopy(model.state_dict())} if replay is None else None
    bad, start_epoch, lr = 0, 1, cfg.lr
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state.get("fingerprint") == fingerprint:
            model.load_state_dict(state["model"])
            for o, s in zip(opts, state["optimizers"]):
                o.load_state_dict(s)
            if average is not None:
                average.load_state_dict(state["average"])
            history, best, bad, lr = state["history"], state["best"], state["bad"], state["lr"]
            start_epoch = state["epoch"] + 1
            torch.set_rng_state(state["torch_rng"])
            random.setstate(state["python_rng"])
            log.info("resuming from %s after epoch %d", checkpoint, state["epoch"])
        else:
            log.info("ignoring %s: it belongs to other inputs or parameters", checkpoint)
    for row in history:
        if on_epoch:
            on_epoch(row)
    stopped = bad >= cfg.early_stop
    who = (f"member {member + 1}/{cfg.members}, " if cfg.members > 1 else "") + ("refit " if replay is not None else "")

    def end_epoch(epoch: int) -> None:
        """The checkpoint, the caller's ``on_epoch`` with the epoch's row, the test kill hook."""
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            _save({"fingerprint": fingerprint, "epoch": epoch, "model": model.state_dict(),
                   "optimizers": [o.state_dict() for o in opts], "history": history, "best": best, "bad": bad,
                   "average": average.state_dict() if average is not None else None,
                   "lr": lr, "torch_rng": torch.get_rng_state(), "python_rng": random.getstate()}, checkpoint)
        if on_epoch:
            on_epoch(history[-1])
        _kill_hook(epoch, None, member, phase)

    for epoch in range(start_epoch, n_epochs + 1):
        if stopped:
            break
        if replay is not None:
            lr = replay[epoch - 1]
        model.train()
        batches = bucketed_batches(fit_set.lengths(), cfg.batch_size, cfg.bucket, np.random.default_rng([seed, epoch]))
        drop_rng = np.random.default_rng([seed, epoch, 1])
        total, seen, t0 = 0.0, 0, time.perf_counter()
        bar = tqdm(batches, desc=f"{who}epoch {epoch}/{n_epochs}", disable=not progress, unit="batch", leave=False,
                   position=position)
        for b, idx in enumerate(bar):
            _kill_hook(epoch, b, member, phase)
            for o in opts:
                for g in o.param_groups:
                    g["lr"] = lr * g["scale"] * lr_factor(cfg, (epoch - 1) * len(batches) + b, len(batches))
            text, teacher, y = fit_set.tensors(idx, device)
            teacher = drop_teacher(teacher, cfg.teacher_dropout, drop_rng)
            prior = match_prior(fit_set.prior_batch(idx, device), teacher)
            loss = train_step(model, opts, text, teacher, y, bf16=bf16, clip=cfg.clip, prior=prior, pos_weight=pos_weight)
            if average is not None:
                average.update(model)
            total += loss * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        bar.close()
        took = time.perf_counter() - t0
        row = {"epoch": epoch, "loss": total / max(seen, 1), "lr": lr, "docs_per_s": seen / took}
        if replay is not None:
            history.append({**row, "seconds": round(time.perf_counter() - t0, 2), "peak_mb": usage.peak_rss_mb()})
            log.info("%sepoch %d: loss %.4f, lr %.3g, %.1f docs/s", who, epoch, row["loss"], lr, row["docs_per_s"])
            end_epoch(epoch)
            continue
        with average.swapped_in(model) if average is not None else nullcontext(model) as judged:
            val = evaluate_logits(predict_logits(judged, val_set, device, bf16=bf16), val_set.y, inv_ps)
            improved = val[cfg.monitor] > best["metric"]
            state_now = copy.deepcopy(judged.state_dict()) if improved else None
        row.update({"seconds": round(time.perf_counter() - t0, 2), "peak_mb": usage.peak_rss_mb(),
                    "val_P@1": val["P@1"], "val_nDCG@5": val["nDCG@5"], f"val_{cfg.monitor}": val[cfg.monitor],
                    **({"val_PSP@5": val["PSP@5"]} if "PSP@5" in val else {})})  # PSP with the propensities given
        history.append(row)
        if improved:
            best = {"metric": val[cfg.monitor], "epoch": epoch, "state": state_now}
            bad = 0
        else:
            bad += 1
            if bad % cfg.lr_patience == 0:
                lr *= cfg.lr_decay
        stopped = bad >= cfg.early_stop
        log.info("%sepoch %d: loss %.4f, val P@1 %.4f, val %s %.4f, %.1f docs/s%s", who, epoch, row["loss"], val["P@1"],
                 cfg.monitor, val[cfg.monitor], row["docs_per_s"], " (early stop)" if stopped else "")
        end_epoch(epoch)
    if replay is None:
        model.load_state_dict(best["state"])
    elif average is not None:
        model.load_state_dict(average.state, strict=False)
    return model, history



# --- an ensemble's members, one after the other or several at once ------------------------------


class TrainingProcessDied(TreaderError):
    """A process training members at once (``train.jobs`` > 1) ended without a result: killed, or
    out of memory. The checkpoints of every member are kept, so running again resumes them."""


@dataclass
class MemberRun:
    """What one ensemble member's training gave: its first run and, with ``refit``, the refit."""

    model: TReaderXML
    history: list[dict]
    refit: TReaderXML | None = None
    refit_history: list[dict] | None = None


def member_jobs(cfg: TrainConfig, device: torch.device) -> tuple[int, int]:
    """(members trained at once, torch threads each) for ``cfg`` on ``device``.

    Several at once only on a CPU: small products do not use two cores well, so two one-thread
    processes train more documents per second than one two-thread process (on a 2-core EPYC, 118
    against 89). ``auto`` takes as many as there are members and cores. Each process gets
    ``train.threads`` threads, or (0) the cores shared out among them; one process alone keeps
    ``train.threads`` as it is (0: torch's default)."""
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
    on_epoch: Callable[[dict, int, str], None] | None = None,
    jobs: int = 1,
    progress: bool = True,
) -> list[MemberRun]:
    """Train the ``cfg.members`` members of an ensemble (each followed by its refit with
    ``cfg.refit``), with a checkpoint each in ``checkpoints`` (``checkpoint_file``), and return them
    in member order. ``on_epoch(row, member, prefix)`` gets every history row ("" for a first run,
    "refit/" for a refit; the rows a resumed checkpoint replays too).

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
                row, m, prefix = rows.get(timeout=0.2) if block else rows.get_nowait()
            except queue_mod.Empty:
                return
            block = False
            if on_epoch:
                on_epoch(row, m, prefix)

    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                             initargs=(rows, lock, logging.getLogger().level, progress)) as pool:
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
                f"every member's checkpoint is kept in {checkpoints}: run again to resume (train.jobs: 1 trains one at a time)"
            ) from None
    return [runs[m] for m in range(cfg.members)]


def _train_member(model_cfg, cfg, train, embeddings, checkpoints, inputs, inv_ps, m, on_epoch, progress, position=0) -> MemberRun:
    emb = torch.from_numpy(embeddings)
    tell = (lambda prefix: (lambda row: on_epoch(row, m, prefix))) if on_epoch else (lambda prefix: None)
    model, history = fit(model_cfg, cfg, train, emb, member=m, checkpoint=checkpoints / checkpoint_file(m),
                         fingerprint=fingerprint([model_cfg.to_dict(), cfg.member_settings(), {"member": m}], inputs),
                         inv_ps=inv_ps, on_epoch=tell(""), progress=progress, position=position)
    run = MemberRun(model, history)
    if cfg.refit:
        schedule = refit_schedule(history, cfg.monitor)
        run.refit, run.refit_history = fit(
            model_cfg, cfg, train, emb, member=m, replay=schedule, checkpoint=checkpoints / checkpoint_file(m, refit=True),
            fingerprint=fingerprint([model_cfg.to_dict(), cfg.member_settings(), {"member": m, "refit": schedule}], inputs),
            inv_ps=inv_ps, on_epoch=tell("refit/"), progress=progress, position=position)
    return run


_worker_rows = None  # in a process of train_members: the queue its history rows go to
_worker_progress = True


def _worker_init(rows, lock, level: int, progress: bool) -> None:
    global _worker_rows, _worker_progress
    _worker_rows, _worker_progress = rows, progress
    tqdm.set_lock(lock)  # the processes' bars share the terminal, one line each
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _member_worker(model_cfg, cfg, train, embeddings, checkpoints, inputs, inv_ps, m, position):
    """One member in a process of its own; weights go back as numpy arrays (no shared memory)."""
    run = _train_member(model_cfg, cfg, train, embeddings, checkpoints, inputs, inv_ps, m,
                        lambda row, m, prefix: _worker_rows.put((row, m, prefix)), _worker_progress, position)

    def arrays(model):
        return None if model is None else {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}

    return arrays(run.model), run.history, arrays(run.refit), run.refit_history


def _from_worker(model_cfg: ModelConfig, result) -> MemberRun:
    def model(state):
        if state is None:
            return None
        net = TReaderXML(model_cfg)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        return net

    state, history, refit_state, refit_history = result
    return MemberRun(model(state), history, model(refit_state), refit_history)
