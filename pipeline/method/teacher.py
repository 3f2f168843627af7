"""Teacher knowledge (Section 3.2, Algorithm 1): a dynamic, fine-grained semantic scope per text.

The teacher set of a text is the union of the labels of its k nearest training
texts and, with ``parents=True``, those labels' parents in the label hierarchy.
Each label is ranked by similarity-weighted votes,

    vote(l) = sum over neighbours n of sim(x, n) * [l in Y_n, or l a parent of a label in Y_n],

(each neighbour votes once per label; similarities below 0 count as a tiny
positive weight so the union stays the union), ties broken by training frequency,
and the set is capped at ``max_labels``.

Modes:
- ``default``: every neighbour label enters, and (with ``parents``) its parent too.
- ``literal``: Algorithm 1 read to the letter: a label enters only if it has a
  parent, and then its parent enters with it; labels without a parent are left out.

The teacher *sequence* is the concatenation of the teacher labels' tokenised
descriptions in rank order, truncated to ``max_len`` tokens (our reading of
"E_y' = sum_k Encode(T_k) / K", docs/deviations.md).

Everything is sparse matrix algebra: S (queries x train, k similarities per row)
times Y (train x labels) gives every vote at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from pipeline.data.text import lists_from_parents
from pipeline.errors import ConfigError

MODES = ("default", "literal")
_MIN_WEIGHT = 1e-6


@dataclass
class LabelSpace:
    """Labels in ``labels.parquet`` order (most frequent in train first), with their parents."""

    labels: pa.Array  # string
    parent_of: np.ndarray  # int64 index of each label's parent, -1 for a root
    train_count: np.ndarray

    @classmethod
    def from_table(cls, table: pa.Table) -> "LabelSpace":
        labels = table["label"].combine_chunks()
        parent = pc.index_in(table["parent"].combine_chunks(), value_set=labels)
        return cls(labels, pc.fill_null(parent, -1).to_numpy().astype(np.int64), table["train_count"].to_numpy())

    def __len__(self) -> int:
        return len(self.labels)

    def matrix(self, doc_labels) -> sp.csr_matrix:
        """Documents' label lists (list<string>) -> binary (n_docs x n_labels) CSR."""
        doc_labels = doc_labels.combine_chunks() if isinstance(doc_labels, pa.ChunkedArray) else doc_labels
        cols = pc.index_in(pc.list_flatten(doc_labels), value_set=self.labels)
        if cols.null_count:
            missing = pc.list_flatten(doc_labels).filter(pc.is_null(cols)).unique().to_pylist()[:5]
            raise ValueError(f"labels not in the label table: {missing}")
        rows = pc.list_parent_indices(doc_labels).to_numpy()
        m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols.to_numpy())), shape=(len(doc_labels), len(self)))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    def parent_matrix(self) -> sp.csr_matrix:
        """(n_labels x n_labels) with P[l, parent(l)] = 1."""
        has = self.parent_of >= 0
        rows = np.flatnonzero(has)
        return sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, self.parent_of[has])), shape=(len(self), len(self))
        )


def neighbour_weights(indices: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Each neighbour's vote weight: its similarity, at least a tiny positive one; 0 for a missing one (index -1)."""
    return np.where(indices >= 0, np.maximum(sims, _MIN_WEIGHT), 0.0)


def neighbour_matrix(indices: np.ndarray, sims: np.ndarray, n_train: int) -> sp.csr_matrix:
    """(n_queries x n_train) with each query's neighbour weights (index -1 = none)."""
    rows = np.repeat(np.arange(len(indices)), indices.shape[1])
    cols, w = indices.reshape(-1), neighbour_weights(indices, sims).reshape(-1)
    keep = cols >= 0
    return sp.csr_matrix((w[keep].astype(np.float32), (rows[keep], cols[keep])), shape=(len(indices), n_train))


def expand(y: sp.csr_matrix, space: LabelSpace, parents: bool = True, mode: str = "default") -> sp.csr_matrix:
    """The labels a training document contributes to its neighbours' teacher sets."""
    if mode not in MODES:
        raise ConfigError(f"teacher_set.mode must be one of {MODES}, got {mode!r}")
    if mode == "literal":
        y = y @ sp.diags((space.parent_of >= 0).astype(np.float32))
    if parents:
        y = y + y @ space.parent_matrix()
    y = sp.csr_matrix(y)
    y.eliminate_zeros()
    y.data[:] = 1.0
    return y


def rank_rows(
    scores: sp.csr_matrix, cap: int, tie_break: np.ndarray | None = None
) -> tuple[pa.ListArray, pa.ListArray]:
    """Each row's non-zero columns, highest score first (ties: lower ``tie_break`` first), at most ``cap``."""
    scores = sp.csr_matrix(scores)
    scores.eliminate_zeros()
    scores.sort_indices()
    n = scores.shape[0]
    rows = np.repeat(np.arange(n), np.diff(scores.indptr))
    cols, vals = scores.indices, scores.data
    tb = cols if tie_break is None else tie_break[cols]
    order = np.lexsort((cols, tb, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    pos = np.arange(len(rows)) - scores.indptr[rows]
    keep = pos < cap
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    return (
        lists_from_parents(pa.array(cols.astype(np.int64)), rows, n),
        lists_from_parents(pa.array(vals.astype(np.float32)), rows, n),
    )


def teacher_sets(
    neighbour_idx: np.ndarray,
    neighbour_sim: np.ndarray,
    train_y: sp.csr_matrix,
    space: LabelSpace,
    *,
    parents: bool = True,
    mode: str = "default",
    max_labels: int = 10,
) -> tuple[pa.ListArray, pa.ListArray]:
    """Ranked teacher label indices and their votes, one list per query."""
    s = neighbour_matrix(neighbour_idx, neighbour_sim, train_y.shape[0])
    votes = s @ expand(train_y, space, parents, mode)
    return rank_rows(votes, max_labels, tie_break=np.arange(len(space)))  # label order = train frequency


def vote_shares(neighbour_idx: np.ndarray, neighbour_sim: np.ndarray, votes: pa.ListArray) -> pa.ListArray:
    """Each vote as a share of its query's total neighbour weight: 1 when every neighbour holds the label."""
    w = neighbour_weights(neighbour_idx, neighbour_sim).sum(axis=1)
    rows = pc.list_parent_indices(votes).to_numpy()
    shares = pc.list_flatten(votes).to_numpy() / np.maximum(w[rows], _MIN_WEIGHT)
    return lists_from_parents(pa.array(np.minimum(shares, 1.0).astype(np.float32)), rows, len(votes))


def knn_scores(neighbour_idx: np.ndarray, neighbour_sim: np.ndarray, train_y: sp.csr_matrix) -> sp.csr_matrix:
    """The teacher as a predictor: similarity-weighted neighbour votes for the labels themselves."""
    return neighbour_matrix(neighbour_idx, neighbour_sim, train_y.shape[0]) @ train_y


def teacher_tokens(label_lists: pa.ListArray, label_tokens: pa.ListArray, max_len: int) -> pa.ListArray:
    """Concatenate each document's teacher label descriptions (token ids), truncated to ``max_len``."""
    n = len(label_lists)
    flat_labels = pc.list_flatten(label_lists)
    doc_of_label = pc.list_parent_indices(label_lists).to_numpy()
    toks = pc.take(label_tokens, flat_labels)
    values = pc.list_flatten(toks)
    doc = doc_of_label[pc.list_parent_indices(toks).to_numpy()] if len(values) else np.zeros(0, np.int64)
    return pc.list_slice(lists_from_parents(values.cast(pa.int32()), doc, n), 0, max_len)


def teacher_columns(
    neighbour_idx: np.ndarray,
    neighbour_sim: np.ndarray,
    train_y: sp.csr_matrix,
    space: LabelSpace,
    desc_tokens: pa.ListArray,
    *,
    parents: bool = True,
    mode: str = "default",
    max_labels: int = 10,
    max_len: int = 64,
) -> tuple[dict[str, pa.ListArray], pa.ListArray]:
    """The teacher table's label, vote-share and token columns for these queries (the ``teacher`` stage and
    prediction for new texts both build them here), and the teacher sets as label indices."""
    labs, votes = teacher_sets(
        neighbour_idx, neighbour_sim, train_y, space, parents=parents, mode=mode, max_labels=max_labels
    )
    return {
        "teacher_labels": _take_lists(labs, space.labels),
        "teacher_votes": vote_shares(neighbour_idx, neighbour_sim, votes),
        "teacher_tokens": teacher_tokens(labs, desc_tokens, max_len),
    }, labs


def _take_lists(lists: pa.ListArray, values: pa.Array) -> pa.ListArray:
    """Replace the integer items of ``lists`` by ``values[item]``."""
    return pa.ListArray.from_arrays(lists.offsets, pc.take(values, pc.list_flatten(lists)))


def _aligned_neighbours(neigh: pa.Table, docs: pa.Table, train_ids: np.ndarray, split: str):
    from pipeline.method.neighbours import table_neighbours

    if neigh["id"].to_pylist() != docs["id"].to_pylist():
        raise ValueError(f"{split} neighbours are not aligned with the {split} documents; rerun `neighbours`")
    return table_neighbours(neigh, train_ids)


def build_teacher_tables(
    docs: dict[str, pa.Table],
    neigh: dict[str, pa.Table],
    labels: pa.Table,
    label_tokens: pa.Table,
    *,
    parents: bool = True,
    mode: str = "default",
    max_labels: int = 10,
    max_len: int = 64,
) -> tuple[dict[str, pa.Table], dict]:
    """The ``teacher`` stage's tables (one per split) and its stats."""
    space = LabelSpace.from_table(labels)
    train_ids = np.asarray(docs["train"]["id"].to_pylist(), dtype=object)
    train_y = space.matrix(docs["train"]["labels"])
    where = pc.index_in(space.labels, value_set=label_tokens["label"].combine_chunks())
    if where.null_count:
        raise ValueError("tokenised label descriptions do not cover the label table; rerun `tokenise`")
    desc_tokens = pc.take(label_tokens["tokens"].combine_chunks(), where)
    tables, stats = {}, {"parents": parents, "mode": mode, "max_labels": max_labels, "max_len": max_len}
    for split in ("train", "test"):
        idx, sims = _aligned_neighbours(neigh[split], docs[split], train_ids, split)
        cols, labs = teacher_columns(
            idx, sims, train_y, space, desc_tokens, parents=parents, mode=mode, max_labels=max_labels, max_len=max_len
        )
        tokens = cols["teacher_tokens"]
        tables[split] = pa.table(
            {
                "id": docs[split]["id"],
                "neighbours": neigh[split]["neighbours"],
                "similarities": neigh[split]["similarities"],
                **cols,
            }
        )
        truth = space.matrix(docs[split]["labels"])
        rows = pc.list_parent_indices(labs).to_numpy()
        sets = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, pc.list_flatten(labs).to_numpy())), shape=truth.shape
        )
        covered = np.asarray(truth.multiply(sets).sum(axis=1)).ravel() / np.maximum(
            np.asarray(truth.sum(axis=1)).ravel(), 1
        )
        sizes = pc.list_value_length(labs).to_numpy()
        stats[split] = {
            "mean_labels": round(float(sizes.mean()), 3),
            "mean_tokens": round(float(pc.list_value_length(tokens).to_numpy().mean()), 3),
            "empty_sets": int((sizes == 0).sum()),
            "true_labels_covered": round(float(covered.mean()), 4),
        }
    return tables, stats


def knn_rank(docs: dict[str, pa.Table], test_neigh: pa.Table, labels: pa.Table, *, top_k: int = 10) -> pa.Table:
    """Rank each test text's labels by its neighbours' similarity-weighted votes: the predictions table."""
    space = LabelSpace.from_table(labels)
    train_ids = np.asarray(docs["train"]["id"].to_pylist(), dtype=object)
    idx, sims = _aligned_neighbours(test_neigh, docs["test"], train_ids, "test")
    labs, votes = rank_rows(knn_scores(idx, sims, space.matrix(docs["train"]["labels"])), top_k, np.arange(len(space)))
    return pa.table({"id": docs["test"]["id"], "labels": _take_lists(labs, space.labels), "scores": votes})
