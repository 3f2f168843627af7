"""Every artifact's path, in one place: the stages, the bench scripts and the CLI name files through here.

data/<dataset>/params-checked.txt      the check stage's marker
data/<dataset>/prepared/{train,test,labels}.parquet, stats.json
data/<dataset>/tokens/{train,test,vocab,labels}.parquet, stats.json
data/<dataset>/embed/embeddings.npy, {train,test}.parquet, stats.json
data/<dataset>/tfidf/{train,test}.npz, idf.npy
data/<dataset>/neighbours/{train,test}.parquet, index.ann
data/<dataset>/teacher/{train,test}.parquet, stats.json
data/<dataset>/predictions/<method>.parquet
models/<dataset>/                      the trained network (``engine.predict``)
models/peers/<dataset>/<method>/       a trained peer
checkpoints/<dataset>/                 training checkpoints ($TREADER_CHECKPOINTS instead of checkpoints/)
checkpoints/exps/<dataset>/            ... of the experiments `treader table` runs
reports/runs/table<N>.json             the runs `treader table N` collected; report@N renders them
reports/table<N>.md, .html; reports/plots/table<N>_<kind>.json
"""

from __future__ import annotations

import os
from pathlib import Path

SPLITS = ("train", "test")


class Artifacts:
    """The artifacts of one dataset under the data root (``data/`` by default)."""

    def __init__(self, data: str | Path, dataset: str):
        self.data, self.dataset = Path(data), dataset
        self.root = self.data / dataset
        self.prepared_dir = self.root / "prepared"
        self.tokens_dir = self.root / "tokens"
        self.embed_dir = self.root / "embed"
        self.tfidf_dir = self.root / "tfidf"
        self.neighbours_dir = self.root / "neighbours"
        self.teacher_dir = self.root / "teacher"
        self.predictions_dir = self.root / "predictions"

    # check
    @property
    def checked(self) -> Path:
        """The `check` stage's marker: every setting was in its domain."""
        return self.root / "params-checked.txt"

    # prepare
    def documents(self, split: str) -> Path:
        return self.prepared_dir / f"{split}.parquet"

    @property
    def labels(self) -> Path:
        return self.prepared_dir / "labels.parquet"

    # tokenise
    def tokens(self, split: str) -> Path:
        return self.tokens_dir / f"{split}.parquet"

    @property
    def vocab(self) -> Path:
        return self.tokens_dir / "vocab.parquet"

    @property
    def label_tokens(self) -> Path:
        return self.tokens_dir / "labels.parquet"

    # embed
    @property
    def embeddings(self) -> Path:
        return self.embed_dir / "embeddings.npy"

    def vectors(self, split: str) -> Path:
        return self.embed_dir / f"{split}.parquet"

    # tfidf
    def tfidf(self, split: str) -> Path:
        return self.tfidf_dir / f"{split}.npz"

    @property
    def idf(self) -> Path:
        return self.tfidf_dir / "idf.npy"

    # neighbours
    def neighbours(self, split: str) -> Path:
        return self.neighbours_dir / f"{split}.parquet"

    @property
    def annoy_index(self) -> Path:
        return self.neighbours_dir / "index.ann"

    # teacher
    def teacher(self, split: str) -> Path:
        return self.teacher_dir / f"{split}.parquet"

    # knn, evaluate, peer_predict
    def predictions(self, method: str) -> Path:
        return self.predictions_dir / f"{method}.parquet"


def raw_cache(data: str | Path = "data") -> Path:
    """Where downloaded raw files are kept."""
    return Path(data) / "raw"


def model_dir(models: str | Path, dataset: str) -> Path:
    """The trained network's directory (``engine.predict.Predictor.load``)."""
    return Path(models) / dataset


def peer_dir(models: str | Path, dataset: str, method: str) -> Path:
    """A trained peer's directory."""
    return Path(models) / "peers" / dataset / method


CHECKPOINTS = "checkpoints"


def checkpoint_dir(dataset: str) -> Path:
    """Training checkpoints of ``dataset``: checkpoints/<dataset>, or $TREADER_CHECKPOINTS/<dataset>."""
    return Path(os.environ.get("TREADER_CHECKPOINTS", CHECKPOINTS)) / dataset


def experiment_checkpoints(project: str | Path) -> Path:
    """Where the experiments of `treader table` keep their training checkpoints ($TREADER_CHECKPOINTS)."""
    return Path(project) / CHECKPOINTS / "exps"


def table_runs(reports: str | Path, table: int) -> Path:
    """The runs `treader table` collected for table ``table``."""
    return Path(reports) / "runs" / f"table{table}.json"


def table_report(reports: str | Path, table: int, suffix: str) -> Path:
    """A rendered table: ``suffix`` .md or .html."""
    return Path(reports) / f"table{table}{suffix}"


def table_plot(reports: str | Path, table: int, kind: str) -> Path:
    """A table's DVC plot data (``kind``: metrics, tail, curves)."""
    return Path(reports) / "plots" / f"table{table}_{kind}.json"
