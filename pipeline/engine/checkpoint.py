"""Training checkpoints: their file names, the fingerprint a checkpoint must match to be resumed,
and atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

ENGINE = Path(__file__).resolve().parent
# the code a checkpoint's training ran: a change to any of these starts training afresh
TRAINING_CODE = (
    ENGINE / "loop.py",
    ENGINE / "examples.py",
    ENGINE / "infer.py",
    ENGINE.parent / "method" / "model.py",
    ENGINE.parent / "report" / "metrics.py",
)


def checkpoint_file(member: int) -> str:
    """The checkpoint file of ensemble member ``member`` (0: the first, or only, network)."""
    return ("train" if member == 0 else f"train-member{member}") + ".ckpt"


def fingerprint(settings: object, files: list[Path]) -> str:
    """What a checkpoint must match to be resumed: the settings, the input files and the training code."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for f in [*TRAINING_CODE, *files]:
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def save(obj: dict, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename: a kill mid-write leaves the last checkpoint whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load(path: Path, device, fingerprint: str) -> dict | None:
    """The checkpoint at ``path`` when it exists and matches ``fingerprint``; else None."""
    if not path.exists():
        return None
    state = torch.load(path, map_location=device, weights_only=False)
    return state if state.get("fingerprint") == fingerprint else None
