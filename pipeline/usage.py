"""What a step cost: wall time and the process's peak resident memory."""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from typing import Iterator


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


@contextmanager
def timed(into: dict, key: str) -> Iterator[None]:
    """Store the block's wall time in seconds as ``into[key]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = round(time.perf_counter() - start, 3)
