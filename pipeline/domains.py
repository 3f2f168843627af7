"""What a setting may be: small domain descriptions shared by the `check` stage (``checks``) and the
settings dataclasses (``engine.config.TrainConfig``). No heavy imports, so whatever uses a domain
depends on this file alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

MONITORS = ("P@1", "P@3", "P@5", "nDCG@1", "nDCG@3", "nDCG@5")


@dataclass(frozen=True)
class Domain:
    """What one setting may be: ``test(value)`` says whether it is, ``says`` what it may be."""

    test: Callable[[Any], bool]
    says: str


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def integer(lo: int | None = None) -> Domain:
    return Domain(
        lambda v: is_int(v) and (lo is None or v >= lo), "a whole number" + (f" >= {lo}" if lo is not None else "")
    )


def number(lo: float, hi: float | None = None, lo_open: bool = False, hi_open: bool = True) -> Domain:
    def test(v) -> bool:
        return is_num(v) and (v > lo if lo_open else v >= lo) and (hi is None or (v < hi if hi_open else v <= hi))

    low = f"{'(' if lo_open else '['}{lo}"
    return Domain(test, f"a number in {low}, {hi if hi is not None else 'inf'}{')' if hi_open or hi is None else ']'}")


BOOL = Domain(lambda v: isinstance(v, bool), "true or false")
TEXT = Domain(lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string")


def one_of(*values) -> Domain:
    return Domain(lambda v: not isinstance(v, bool) and v in values, "one of " + ", ".join(map(str, values)))


def optional(d: Domain) -> Domain:
    return Domain(lambda v: v is None or d.test(v), f"null or {d.says}")


def list_of(d: Domain, non_empty: bool = False) -> Domain:
    return Domain(
        lambda v: isinstance(v, list) and (not non_empty or len(v) > 0) and all(d.test(x) for x in v),
        f"a {'non-empty ' if non_empty else ''}list, each item {d.says}",
    )


# the `train` section (``engine.config.TrainConfig``)
TRAIN: dict[str, Domain] = {
    "epochs": integer(1),
    "batch_size": integer(1),
    "lr": number(0, lo_open=True),
    "lr_decay": number(0, 1, lo_open=True, hi_open=False),
    "lr_patience": integer(1),
    "schedule": one_of("plateau", "cosine"),
    "warmup": number(0),
    "embedding_lr": number(0, lo_open=True),
    "clip": number(0),
    "teacher_dropout": number(0, 1),
    "propensity_weight": number(0),
    "members": integer(1),
    "early_stop": integer(1),
    "monitor": one_of(*MONITORS),
    "val_fraction": number(0, 1, lo_open=True),
    "seed": integer(),
    "device": Domain(
        lambda v: v in ("auto", "cpu", "cuda") or (isinstance(v, str) and v.startswith("cuda:")),
        "auto, cpu, cuda or cuda:N",
    ),  # fmt: skip
    "bf16": Domain(lambda v: isinstance(v, bool) or v == "auto", "true, false or auto"),
    "bucket": integer(1),
    "threads": integer(0),
    "jobs": Domain(lambda v: v == "auto" or (is_int(v) and v >= 1), "a whole number >= 1, or auto"),
}
