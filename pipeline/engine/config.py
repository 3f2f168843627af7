"""The training settings (params `train`) and the seed of each ensemble member."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from pipeline.domains import TRAIN
from pipeline.engine.device import auto_bf16
from pipeline.errors import ConfigError


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
    val_fraction: float = 0.1  # carved from train, seeded (in (0, 1): validation picks the kept epoch)
    seed: int = 13
    device: str = "auto"  # auto | cpu | cuda
    bf16: bool | str = False  # bf16 autocast: true | false | auto (``auto_bf16``)
    bucket: int = 50  # batches per length bucket (more: less padding, less randomness)
    threads: int = 0  # torch CPU threads (0: torch's default)
    members: int = 1  # networks in the ensemble (each trained in full; prediction averages their probabilities)
    jobs: int | str = 1  # members trained at once on a CPU, each in its own process (auto: as cores and members allow)

    def __post_init__(self):
        for key, domain in TRAIN.items():  # the domains the `check` stage checks too
            value = getattr(self, key)
            if not domain.test(value):
                raise ConfigError(f"invalid training setting: train.{key} must be {domain.says}; got {value!r}")

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
