"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real raw data (one folder per dataset): $TREADER_DATA_DIR, else ../shared/data.

    Tests that use it are skipped where neither exists.
    """
    candidates = []
    if os.environ.get("TREADER_DATA_DIR"):
        candidates.append(Path(os.environ["TREADER_DATA_DIR"]))
    candidates.append(REPO / ".." / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    reason = f"real data not found (set TREADER_DATA_DIR or provide {candidates[-1]})"
    if os.environ.get("CI"):  # CI always has the data: a silent skip there would hide a broken set-up
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def paper_text() -> str:
    """The paper's Markdown (../shared/paper/TReaderXML.md, or $TREADER_PAPER)."""
    path = Path(os.environ.get("TREADER_PAPER", REPO / ".." / "shared" / "paper" / "TReaderXML.md"))
    if not path.is_file():
        reason = f"paper not found at {path} (set TREADER_PAPER)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path.read_text(encoding="utf-8")
