"""The training settings (params `train`) and the seed of each ensemble member."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from pipeline.engine.device import auto_bf16
from pipeline.errors import ConfigError

MONITORS = ("P@1", "P@3", "P@5", "nDCG@1", "nDCG@3", "nDCG@5")


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
    propensity_weight: float = 0.0  # weigh label l's positives in the loss by (1/p_l)^this (0: off)
    early_stop: int = 3  # stop after this many epochs without improvement
    monitor: str = "nDCG@5"  # validation metric that decides "improvement" and the kept model
    val_fraction: float = 0.1  # carved from train, seeded
    seed: int = 13
    device: str = "auto"  # auto | cpu | cuda
    bf16: bool | str = False  # bf16 autocast: true | false | auto (``auto_bf16``)
    bucket: int = 50  # batches per length bucket (more: less padding, less randomness)
    threads: int = 0  # torch CPU threads (0: torch's default)
    members: int = 1  # networks in the ensemble (each trained in full; prediction averages their probabilities)
    jobs: int | str = 1  # members trained at once on a CPU, each in its own process (auto: as cores and members allow)

    def __post_init__(self):
        if self.lr <= 0 or self.batch_size < 1 or self.epochs < 1 or not 0 <= self.val_fraction < 1:
            raise ConfigError(
                f"invalid training settings: lr {self.lr}, batch_size {self.batch_size}, "
                f"epochs {self.epochs}, val_fraction {self.val_fraction}"
            )
        if (
            self.schedule not in ("plateau", "cosine")
            or self.embedding_lr <= 0
            or self.warmup < 0
            or self.clip < 0
            or not 0 <= self.teacher_dropout < 1
        ):
            raise ConfigError(
                f"invalid training settings: schedule {self.schedule!r} (plateau | cosine), warmup {self.warmup}, "
                f"embedding_lr {self.embedding_lr}, clip {self.clip}, teacher_dropout {self.teacher_dropout} (in [0, 1))"
            )
        pw = self.propensity_weight
        if isinstance(pw, bool) or not isinstance(pw, (int, float)) or pw < 0:
            raise ConfigError(
                "train.propensity_weight is the exponent of the positives' weight (1/p_l)^x, "
                f"a number >= 0 (0: off); got {pw!r}"
            )
        if isinstance(self.members, bool) or not isinstance(self.members, int) or self.members < 1:
            raise ConfigError(f"train.members must be a whole number >= 1; got {self.members!r}")
        jobs_ok = self.jobs == "auto" or (
            isinstance(self.jobs, int) and not isinstance(self.jobs, bool) and self.jobs >= 1
        )
        if not jobs_ok:
            raise ConfigError(
                f"train.jobs is how many members train at once on a CPU, a whole number >= 1 or auto; got {self.jobs!r}"
            )
        if self.bf16 not in (True, False, "auto"):
            raise ConfigError(
                "train.bf16 must be true, false or auto (bf16 on a CUDA device that computes it, fp32 on the CPU); "
                f"got {self.bf16!r}"
            )
        if self.monitor not in MONITORS:
            raise ConfigError(f"train.monitor must be P@k or nDCG@k for k in 1, 3, 5; got {self.monitor!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def use_bf16(self, device: torch.device) -> bool:
        """Whether training on ``device`` runs under bf16 autocast: ``bf16`` itself, or for ``auto``
        what ``auto_bf16`` picks for the device."""
        return auto_bf16(device) if self.bf16 == "auto" else bool(self.bf16)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """From a `train` parameter section (keys this class does not know are left out)."""
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def member_settings(self) -> dict:
        """What one member's training depends on: every setting but the ensemble's size and how many
        members train at once (``jobs``; the threads each one gets do count)."""
        return {k: v for k, v in self.to_dict().items() if k not in ("members", "jobs")}


def member_seed(seed: int, member: int) -> int:
    """The seed member ``member`` of an ensemble draws its initialisation, batches and dropout from
    (member 0: ``seed`` itself, so one member is the plain model)."""
    if member == 0:
        return seed
    return int(np.random.SeedSequence([seed, member]).generate_state(1)[0] >> 1)
