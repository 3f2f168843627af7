"""The train split as the `train` stage hands it to `pipeline.train.fit`, for the bench scripts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from pipeline import hierarchy, metrics, predict, teacher
from pipeline.model import ModelConfig
from pipeline.train import Examples, TrainConfig


def train_inputs(root: Path, p: dict) -> tuple[Examples, torch.Tensor, ModelConfig, TrainConfig, np.ndarray]:
    """Examples, word vectors, model and training settings, and the labels' inverse propensities of
    ``root`` (data/<dataset>) under the parameters ``p`` (its `teacher` and `reading` included)."""
    labels = pq.read_table(root / "prepared" / "labels.parquet")
    outputs = predict.target_labels(labels)
    docs = pq.read_table(root / "prepared" / "train.parquet")
    use_teacher = bool(p["teacher"])
    ex = predict.examples(pq.read_table(root / "tokens" / "train.parquet"),
                          pq.read_table(root / "teacher" / "train.parquet") if use_teacher else None, docs, outputs)
    emb = torch.from_numpy(np.load(root / "embed" / "embeddings.npy"))
    mcfg = ModelConfig.from_params(p["model"], root.name, vocab_size=emb.shape[0], n_labels=len(outputs),
                                   d_model=emb.shape[1], reading=p["reading"], teacher=use_teacher)
    counts = labels.filter(labels["train_count"].to_numpy() > 0)["train_count"].to_numpy()
    return ex, emb, mcfg, TrainConfig.from_params(p["train"], root.name), metrics.inverse_propensity(counts, len(docs))


def label_parents(root: Path) -> tuple[np.ndarray, bool]:
    """Each output label's output parent (-1: none) and whether the train label sets of ``root``
    hold every label's parent: what `evaluate.lift_parents: auto` looks at."""
    labels = pq.read_table(root / "prepared" / "labels.parquet")
    space = teacher.LabelSpace.from_table(labels)
    parents = predict.output_parents(space, predict.target_labels(labels))
    train_y = space.matrix(pq.read_table(root / "prepared" / "train.parquet")["labels"])
    return parents, hierarchy.closed_under_parents(train_y, space.parent_matrix())
