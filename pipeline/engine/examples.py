"""Training examples: token sequences as ragged arrays, label matrices, the validation split,
length-bucketed batches, and the one loader of a dataset's training inputs."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
import torch

from pipeline.io import read_table
from pipeline.method.model import ModelConfig
from pipeline.paths import Artifacts
from pipeline.report import metrics


class Ragged:
    """Token-id lists as one flat int64 array and offsets; batches are padded on the fly."""

    def __init__(self, lists: pa.ListArray | pa.ChunkedArray):
        lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
        self.values = pc.list_flatten(lists).to_numpy().astype(np.int64)
        offsets = lists.offsets.to_numpy().astype(np.int64)
        self.offsets = offsets - offsets[0]
        self.lengths = np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, idx: np.ndarray) -> torch.Tensor:
        width = max(1, int(self.lengths[idx].max()))
        out = np.zeros((len(idx), width), dtype=np.int64)
        for row, i in enumerate(idx):
            seq = self.values[self.offsets[i] : self.offsets[i + 1]]
            out[row, : len(seq)] = seq
        return torch.from_numpy(out)

    def take(self, idx: np.ndarray) -> Ragged:
        """The rows ``idx``, in that order."""
        out = Ragged.__new__(Ragged)
        out.lengths = self.lengths[idx]
        out.offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(out.lengths, out=out.offsets[1:])
        if len(idx):
            out.values = np.concatenate([self.values[self.offsets[i] : self.offsets[i + 1]] for i in idx])
        else:
            out.values = np.zeros(0, np.int64)
        return out


@dataclass
class Examples:
    text: Ragged
    teacher: Ragged | None
    y: sp.csr_matrix  # (n, n_labels) binary
    prior: sp.csr_matrix | None = None  # (n, n_labels) teacher vote shares, for models with teacher_prior

    def __len__(self) -> int:
        return len(self.text)

    def subset(self, idx: np.ndarray) -> Examples:
        sub = copy.copy(self)
        sub.text, sub.y = self.text.take(idx), self.y[idx]
        sub.teacher = None if self.teacher is None else self.teacher.take(idx)
        sub.prior = None if self.prior is None else self.prior[idx]
        return sub

    def lengths(self) -> np.ndarray:
        return self.text.lengths + (0 if self.teacher is None else self.teacher.lengths)

    def tensors(self, idx: np.ndarray, device):
        text = self.text.batch(idx).to(device)
        teacher = None if self.teacher is None else self.teacher.batch(idx).to(device)
        y = torch.from_numpy(self.y[idx].toarray().astype(np.float32)).to(device)
        return text, teacher, y

    def prior_batch(self, idx: np.ndarray, device) -> torch.Tensor | None:
        if self.prior is None:
            return None
        return torch.from_numpy(self.prior[idx].toarray().astype(np.float32)).to(device)


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (fit, validation) index arrays over ``n`` training texts: the one place a validation
    split is carved (training, the ensemble's validation score and the bench scripts use it)."""
    perm = np.random.default_rng([seed, 7]).permutation(n)
    n_val = max(1, int(round(fraction * n))) if fraction > 0 else 0
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def bucketed_batches(lengths: np.ndarray, batch_size: int, bucket: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle, sort by length within chunks of ``bucket`` batches, cut into batches, shuffle the batches."""
    perm = rng.permutation(len(lengths))
    chunk = batch_size * bucket
    batches = []
    for start in range(0, len(perm), chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def target_labels(labels: pa.Table) -> pa.Array:
    """The model's output labels: those seen in train, in label-table order."""
    return labels.filter(pc.greater(labels["train_count"], 0))["label"].combine_chunks()


def label_matrix(label_lists: pa.ChunkedArray | pa.ListArray, outputs: pa.Array, n: int) -> sp.csr_matrix:
    """(texts x outputs) binary matrix of ``label_lists``; labels that are not outputs are left out."""
    lists = label_lists.combine_chunks() if isinstance(label_lists, pa.ChunkedArray) else label_lists
    flat = pc.list_flatten(lists)
    keep = pc.is_in(flat, value_set=outputs)  # test labels never seen in train cannot be outputs
    rows = pc.list_parent_indices(lists).filter(keep).to_numpy()
    cols = pc.index_in(flat.filter(keep), value_set=outputs).to_numpy()
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, len(outputs)))


def make_examples(
    tokens: pa.Table, teacher_table: pa.Table | None, docs: pa.Table | None, outputs: pa.Array
) -> Examples:
    """Model inputs for a split; ``docs`` (with labels) may be None at prediction time."""
    if teacher_table is not None and tokens["id"].to_pylist() != teacher_table["id"].to_pylist():
        raise ValueError("teacher rows are not aligned with token rows; rerun the pipeline")
    if docs is not None:
        y = label_matrix(docs["labels"], outputs, len(docs))
    else:
        y = sp.csr_matrix((len(tokens), len(outputs)), dtype=np.float32)
    if teacher_table is None:
        return Examples(Ragged(tokens["tokens"]), None, y)
    prior = vote_matrix(teacher_table, outputs) if "teacher_votes" in teacher_table.column_names else None
    return Examples(Ragged(tokens["tokens"]), Ragged(teacher_table["teacher_tokens"]), y, prior=prior)


def vote_matrix(teacher_table: pa.Table, outputs: pa.Array) -> sp.csr_matrix:
    """(texts x outputs) teacher vote shares; teacher labels that are not outputs are left out."""
    labs = teacher_table["teacher_labels"].combine_chunks()
    flat, votes = pc.list_flatten(labs), pc.list_flatten(teacher_table["teacher_votes"].combine_chunks())
    keep = pc.is_in(flat, value_set=outputs)
    rows = pc.list_parent_indices(labs).filter(keep).to_numpy()
    cols = pc.index_in(flat.filter(keep), value_set=outputs).to_numpy()
    shares = votes.filter(keep).to_numpy().astype(np.float32)
    return sp.csr_matrix((shares, (rows, cols)), shape=(len(teacher_table), len(outputs)))


@dataclass
class TrainingInputs:
    """What the network trains on, as the `train` stage and the bench scripts read it."""

    docs: pa.Table  # the train split (schema "documents")
    labels: pa.Table  # the label table (schema "labels")
    outputs: pa.Array  # the model's output labels (``target_labels``)
    examples: Examples
    embeddings: np.ndarray  # (vocabulary, d_model) float32, the `embed` stage's word vectors
    inv_ps: np.ndarray  # each output's inverse propensity (``metrics.inverse_propensity``)
    files: list[Path]  # the input files read (a checkpoint's fingerprint covers them)

    def model_config(self, model: dict, *, reading: str, teacher: bool) -> ModelConfig:
        """The network's settings: the `model` parameter section, with the shapes these inputs fix
        (vocabulary, outputs, d_model = the word vectors' size) and the Reading and teacher switches."""
        vocab_size, d_model = self.embeddings.shape
        return ModelConfig.from_params(
            model, vocab_size=vocab_size, n_labels=len(self.outputs), d_model=d_model, reading=reading, teacher=teacher
        )


def load_training_inputs(art: Artifacts, *, teacher: bool, propensity_a: float, propensity_b: float) -> TrainingInputs:
    """Read (with schema checks) the train split, its tokens, its teacher sets (with ``teacher``),
    the labels and the word vectors of ``art``, and build the training examples and the outputs'
    inverse propensities (constants ``propensity_a``, ``propensity_b``)."""
    docs = read_table(art.documents("train"), "documents")
    labels = read_table(art.labels, "labels")
    outputs = target_labels(labels)
    tokens = read_table(art.tokens("train"), "tokens")
    teach = read_table(art.teacher("train"), "teacher") if teacher else None
    embeddings = np.load(art.embeddings)
    counts = labels.filter(pc.greater(labels["train_count"], 0))["train_count"].to_numpy()
    files = [art.documents("train"), art.tokens("train"), art.embeddings] + ([art.teacher("train")] if teacher else [])
    return TrainingInputs(
        docs=docs,
        labels=labels,
        outputs=outputs,
        examples=make_examples(tokens, teach, docs, outputs),
        embeddings=embeddings,
        inv_ps=metrics.inverse_propensity(counts, len(docs), propensity_a, propensity_b),
        files=files,
    )
