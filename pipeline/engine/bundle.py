"""A trained model as a directory: what the `train` stage writes and ``engine.predict.Predictor`` reads.

``models/<dataset>/`` holds everything prediction needs, so it can be copied anywhere and used
without the pipeline's other artifacts (the file list: ``engine/predict.py``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from pipeline.io import read_table
from pipeline.method.model import TReaderXML
from pipeline.paths import Artifacts


def member_file(m: int) -> str:
    return "model.pt" if m == 0 else f"model-member{m}.pt"


def save_bundle(out: Path, models: list[TReaderXML], config: dict, art: Artifacts, train_docs: pa.Table) -> None:
    """Write a model directory (``out`` is a fresh, empty folder) from the artifacts ``art``:
    ``models``, the ensemble's members (one for a single network), and ``config`` (config.json).
    The teacher's search side ships as the run used it (``config["neighbours"]``): the Annoy index
    for word2vec vectors searched by Annoy, the idf and train rows for TF-IDF."""
    for m, model in enumerate(models):
        torch.save(model.state_dict(), out / member_file(m))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for src, name in (
        (art.vocab, "vocab.parquet"),
        (art.labels, "labels.parquet"),
        (art.label_tokens, "label_tokens.parquet"),
        (art.embeddings, "embeddings.npy"),
    ):
        shutil.copyfile(src, out / name)
    vectors, backend = neighbour_vectors(config), config["neighbours"]["backend"]
    if vectors == "word2vec" and backend == "annoy" and art.annoy_index.exists():
        shutil.copyfile(art.annoy_index, out / "index.ann")
    if vectors == "tfidf":
        for src, name in zip((art.idf, art.tfidf("train")), TFIDF_FILES):
            shutil.copyfile(src, out / name)
    train_vectors = read_table(art.vectors("train"), "vectors")
    pq.write_table(
        pa.table({"id": train_docs["id"], "labels": train_docs["labels"], "vector": train_vectors["vector"]}),
        out / "train_docs.parquet",
    )


BUNDLE_FILES = (
    "model.pt",
    "vocab.parquet",
    "labels.parquet",
    "label_tokens.parquet",
    "embeddings.npy",
    "train_docs.parquet",
)
TFIDF_FILES = ("tfidf_idf.npy", "tfidf_train.npz")  # the tfidf stage's idf.npy and train rows


def neighbour_vectors(config: dict) -> str | None:
    """What a model's teacher compares texts by (``word2vec`` or ``tfidf``); None without a teacher."""
    if not config["model"].get("teacher", True):
        return None
    return config["neighbours"].get("vectors") or "word2vec"
