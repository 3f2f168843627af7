"""What every stage script shares: params, logging, and turning user errors into exit code 2.

Importing this module first puts the checkout this script lies in at the front of ``sys.path``, so
a stage runs its own checkout's ``pipeline/`` even when another clone's is installed in the same
virtualenv (DVC tracks the local files; running someone else's code would break that). Every
stage script imports it before ``pipeline``.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
if sys.path[:1] != [str(CHECKOUT)]:
    sys.path.insert(0, str(CHECKOUT))

import yaml  # noqa: E402

from pipeline import settings  # noqa: E402
from pipeline.errors import TreaderError  # noqa: E402

log = logging.getLogger("stage")


def load_params(path: str | Path = "params.yaml") -> dict:
    """params.yaml as a dict, with the chosen dataset's own values merged over the stage sections
    (``settings.resolve``). An unknown `dataset` is reported by the prepare stage (datasets.load)
    and by DVC itself, which cannot resolve the stage paths it names."""
    with open(path, encoding="utf-8") as f:
        return settings.resolve(yaml.safe_load(f) or {})


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
