"""The usual peers, on TF-IDF features: omikuji (Parabel and Bonsai settings) and napkinXC's PLT.

Each peer is trained from a CSR feature matrix and label-index lists, saved into a
directory, loaded back and asked for its top-k labels, so the `peer_train` and
`peer_predict` stages mirror `train` and `evaluate`. omikuji's native logger prints
a progress line per tree node to stdout; training runs with the process's stdout
and stderr sent to ``train.log`` in the model directory, and its warnings and
errors are passed on to Python's logging.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from pipeline.errors import ConfigError

log = logging.getLogger(__name__)

KINDS = ("omikuji", "napkinxc-plt")
_OMIKUJI_LOSS = {"hinge", "log"}


def check_settings(name: str, settings: dict) -> tuple[str, dict]:
    """Split a peer's params into its library (``kind``) and that library's own settings, checked."""
    settings = dict(settings)
    kind = settings.pop("kind", None)
    if kind not in KINDS:
        raise ConfigError(f"peers.{name}.kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if kind == "omikuji":
        import omikuji

        hp = omikuji.Model.default_hyper_param()
        valid = {k for k in dir(hp) if not k.startswith("_")} - {"linear_loss_type"} | {"linear_loss"}
        unknown = sorted(set(settings) - valid)
        if unknown:
            raise ConfigError(f"peers.{name}: unknown omikuji setting(s) {unknown}; valid: {sorted(valid)}")
        if settings.get("linear_loss", "hinge") not in _OMIKUJI_LOSS:
            raise ConfigError(f"peers.{name}.linear_loss must be hinge or log; got {settings['linear_loss']!r}")
    else:
        import inspect

        from napkinxc.models import PLT

        valid = set(inspect.signature(PLT.__init__).parameters) - {"self", "output", "kwargs", "threads"}
        unknown = sorted(set(settings) - valid)
        if unknown:
            raise ConfigError(f"peers.{name}: unknown napkinXC PLT setting(s) {unknown}; valid: {sorted(valid)}")
    return kind, settings


@contextlib.contextmanager
def native_output_to(path: Path) -> Iterator[None]:
    """Send everything written to file descriptors 1 and 2 (native libraries included) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@contextlib.contextmanager
def captured(library: str, keep: Path | None = None) -> Iterator[None]:
    """Run a native library quietly: its output goes to ``keep`` (or a temporary file), its warnings to logging."""
    path = keep or Path(tempfile.mkstemp(prefix="treader-native-", suffix=".log")[1])
    try:
        with native_output_to(path):
            yield
        passed_on_warnings(path, library)
    finally:
        if keep is None:
            path.unlink(missing_ok=True)


def passed_on_warnings(path: Path, library: str) -> list[str]:
    """Log (and return) the WARN / ERROR lines of a captured native log."""
    lines = [ln.rstrip() for ln in path.read_text(errors="replace").splitlines()]
    bad = [ln for ln in lines if "WARN" in ln.upper() or "ERROR" in ln.upper()]
    for ln in bad:
        log.warning("%s: %s", library, ln)
    return bad


def write_xmc(path: Path, x: sp.csr_matrix, y: list[list[int]], n_labels: int) -> None:
    """The Extreme Classification Repository text format omikuji trains from (0-based ids)."""
    with open(path, "w", encoding="ascii") as f:
        f.write(f"{x.shape[0]} {x.shape[1]} {n_labels}\n")
        for i in range(x.shape[0]):
            lo, hi = x.indptr[i], x.indptr[i + 1]
            feats = " ".join(f"{j}:{v:.6g}" for j, v in zip(x.indices[lo:hi], x.data[lo:hi]))
            f.write(",".join(map(str, y[i])) + (" " + feats if feats else "") + "\n")


def train(
    kind: str, settings: dict, x: sp.csr_matrix, y: list[list[int]], n_labels: int, out: Path, threads: int = 0
) -> None:
    """Train a peer and save it into the (existing, empty) directory ``out``; native output goes to out/train.log."""
    logfile = out / "train.log"
    if kind == "omikuji":
        import omikuji

        hp = omikuji.Model.default_hyper_param()
        for key, value in settings.items():
            if key == "linear_loss":
                hp.linear_loss_type = (omikuji.LossType.HINGE if value == "hinge" else omikuji.LossType.LOG).value
            else:
                setattr(hp, key, value)
        with tempfile.TemporaryDirectory(dir=out) as tmp, captured(kind, logfile):
            data = Path(tmp) / "train.txt"
            write_xmc(data, x, y, n_labels)
            model = omikuji.Model.train_on_data(str(data), hp, threads or None)
            model.save(str(out / "model"))
    else:
        from napkinxc.models import PLT

        with captured(kind, logfile):
            # napkinXC 0.7.2 crashes (bad_alloc, or a segfault) on label lists here; a CSR label matrix works
            PLT(str(out / "model"), threads=threads, **settings).fit(x, label_matrix(y, n_labels))
    (out / "peer.json").write_text(
        json.dumps({"kind": kind, "settings": settings, "n_features": x.shape[1], "n_labels": n_labels}, indent=2)
        + "\n"
    )


def label_matrix(y: list[list[int]], n_labels: int) -> sp.csr_matrix:
    """Label-index lists as a binary CSR matrix (n_texts, n_labels)."""
    rows = np.repeat(np.arange(len(y)), [len(r) for r in y])
    cols = np.fromiter((j for r in y for j in r), np.int64, count=len(rows))
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(y), n_labels))


class Peer:
    """A saved peer: ``Peer(model_dir).predict(x, k)`` -> (label indices, scores), best first, -1 padded."""

    def __init__(self, model_dir: Path, threads: int = 0):
        meta = json.loads((Path(model_dir) / "peer.json").read_text())
        self.kind = meta["kind"]
        path = str(Path(model_dir) / "model")
        if self.kind == "omikuji":
            import omikuji

            with captured(self.kind):
                self.model = omikuji.Model.load(path)
            if threads:
                self.model.init_prediction_thread_pool(threads)
        else:
            from napkinxc.models import PLT

            with captured(self.kind):
                self.model = PLT(path, threads=threads)
                self.model.load()

    def predict(self, x: sp.csr_matrix, k: int, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        idx = np.full((x.shape[0], k), -1, np.int64)
        scores = np.zeros((x.shape[0], k), np.float32)
        if self.kind == "omikuji":
            rows = (
                list(
                    zip(
                        x.indices[x.indptr[i] : x.indptr[i + 1]].tolist(),
                        x.data[x.indptr[i] : x.indptr[i + 1]].tolist(),
                    )
                )
                for i in range(x.shape[0])
            )
            ranked = [
                self.model.predict(r, top_k=k)
                for r in tqdm(rows, total=x.shape[0], desc="predict", disable=not progress, unit="doc")
            ]
        else:
            ranked = self.model.predict_proba(x, top_k=k)
        for i, pairs in enumerate(ranked):
            pairs = sorted(pairs, key=lambda p: -p[1])[:k]
            idx[i, : len(pairs)] = [p[0] for p in pairs]
            scores[i, : len(pairs)] = [p[1] for p in pairs]
        return idx, scores
