"""What every stage script shares: params, logging, and turning user errors into exit code 2."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

from pipeline.errors import TreaderError

log = logging.getLogger("stage")


def load_params(path: str | Path = "params.yaml") -> dict:
    """params.yaml as a dict. An unknown `dataset` is reported by the prepare stage (datasets.load)
    and by DVC itself, which cannot resolve the stage paths it names; checking it here too
    would make every stage depend on the dataset loaders' code."""
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


@contextmanager
def stage(name: str):
    """Log the stage's wall time; print a user error as one line and exit 2."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    start = time.perf_counter()
    try:
        yield
    except TreaderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    log.info("%s finished in %.1f s", name, time.perf_counter() - start)
