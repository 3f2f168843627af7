"""Nearest training texts by cosine similarity of document vectors (Eq. 2).

Two backends return the same thing, ``(indices [n, k] int64, similarities [n, k] float32)``,
rows best first, indices into the *train* vectors:

- ``exact``: blocked torch matrix products and top-k (memory bounded by ``block``);
  the oracle, and the right choice for small corpora.
- ``annoy``: an Annoy index (angular metric), for large corpora. Cosine similarity is
  recovered from Annoy's angular distance d as ``cos = 1 - d^2 / 2``.

The vectors are either the dense Eq. 1 vectors (``word2vec``, the paper's) or sparse TF-IDF
rows (``tfidf``); sparse rows are always searched exactly (:func:`sparse_search`), since
Annoy indexes dense vectors only.

When the queries are the train documents themselves (``self_ids``), each query's own
row is excluded by *index*, never by content: a duplicate text elsewhere in train is
a legitimate neighbour.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
import torch
from tqdm import tqdm

from pipeline.data.text import lists_from_parents, padded
from pipeline.errors import ConfigError, DataError

BACKENDS = ("annoy", "exact")
VECTORS = ("word2vec", "tfidf")  # what a text is, for the search: its Eq. 1 vector, or its TF-IDF row


def check_vectors(value) -> str:
    if isinstance(value, dict):
        raise ConfigError(
            f"neighbours.vectors must be one of {', '.join(VECTORS)}, got a mapping {value!r} "
            "(a value for one dataset goes in that dataset's own section: reuters21578: {neighbours: {vectors: tfidf}})"
        )
    if value not in VECTORS:
        raise ConfigError(f"neighbours.vectors must be one of {', '.join(VECTORS)}, got {value!r}")
    return value


def vectors_for(value) -> str:
    """``neighbours.vectors`` checked; ``word2vec`` when unset."""
    return check_vectors("word2vec" if value is None else value)


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0).astype(np.float32, copy=False)


def exact_search(
    queries: np.ndarray,
    base: np.ndarray,
    k: int,
    self_ids: np.ndarray | None = None,
    block: int = 2048,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine top-k of each query among ``base``; ``self_ids[i]`` (if given) is excluded for query i."""
    q = torch.from_numpy(_normalise(queries))
    b = torch.from_numpy(_normalise(base))
    return _blocked_top_k(
        lambda start, stop: q[start:stop] @ b.T, len(q), len(base), k, self_ids, block, "exact search", progress
    )


def _blocked_top_k(
    similarities,
    n_queries: int,
    n_base: int,
    k: int,
    self_ids: np.ndarray | None,
    block: int,
    desc: str,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each query's row of ``similarities(start, stop)`` (a torch block of queries x base),
    one block of queries at a time; ``self_ids[i]`` (if given) is excluded for query i."""
    if k < 1:
        raise ConfigError(f"neighbours.k must be a whole number >= 1; got {k}")
    k = min(k, n_base - (self_ids is not None))
    if k < 1:
        raise DataError(f"{n_base} train text(s): too few to find any neighbour (a train text never counts itself)")
    out_i = np.empty((n_queries, k), dtype=np.int64)
    out_s = np.empty((n_queries, k), dtype=np.float32)
    with torch.no_grad():
        for start in tqdm(range(0, n_queries, block), desc=desc, disable=not progress, unit="block"):
            sims = similarities(start, start + block)
            if self_ids is not None:
                rows = torch.arange(sims.shape[0])
                sims[rows, torch.from_numpy(self_ids[start : start + block])] = -torch.inf
            s, i = torch.topk(sims, k, dim=1)  # ties broken by torch (stable for equal values in practice)
            out_i[start : start + block] = i.numpy()
            out_s[start : start + block] = s.numpy()
    return out_i, out_s


def _normalise_rows(x: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    return sp.csr_matrix(
        sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ x, dtype=np.float32
    )


def sparse_search(
    queries: sp.spmatrix,
    base: sp.spmatrix,
    k: int,
    self_ids: np.ndarray | None = None,
    cells: int = 1 << 25,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`exact_search` for sparse rows (TF-IDF): cosine top-k of each query among ``base``.

    Queries go in blocks whose dense similarity block holds at most ``cells`` floats (128 MiB by
    default), so memory stays bounded however large ``base`` is. A query with no nonzero entry
    has similarity 0 to every base row (its neighbours are then the first rows, by index).
    """
    q, bt = _normalise_rows(sp.csr_matrix(queries)), _normalise_rows(sp.csr_matrix(base)).T.tocsc()
    block = max(1, cells // max(base.shape[0], 1))
    return _blocked_top_k(
        lambda start, stop: torch.from_numpy((q[start:stop] @ bt).toarray()),
        q.shape[0],
        base.shape[0],
        k,
        self_ids,
        block,
        "exact search (sparse)",
        progress,
    )


@dataclass
class AnnoyIndex:
    index: object  # annoy.AnnoyIndex
    dim: int
    size: int

    def save(self, path) -> None:
        self.index.save(str(path))

    @classmethod
    def load(cls, path, dim: int) -> "AnnoyIndex":
        from annoy import AnnoyIndex as _A

        idx = _A(dim, "angular")
        idx.load(str(path))
        return cls(idx, dim, idx.get_n_items())


def annoy_build(base: np.ndarray, n_trees: int = 50, seed: int = 13, progress: bool = False) -> AnnoyIndex:
    from annoy import AnnoyIndex as _A

    idx = _A(base.shape[1], "angular")
    idx.set_seed(seed)
    for i, v in enumerate(tqdm(base, desc="annoy add", disable=not progress, unit="doc", mininterval=1)):
        idx.add_item(i, v)
    idx.build(n_trees, n_jobs=1)  # one job: the same trees on every run
    return AnnoyIndex(idx, base.shape[1], len(base))


def annoy_search(
    index: AnnoyIndex,
    queries: np.ndarray,
    k: int,
    search_k: int = -1,
    self_ids: np.ndarray | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate cosine top-k; with ``self_ids`` ask for k+1 and drop the query's own index."""
    if k < 1:
        raise ConfigError(f"neighbours.k must be a whole number >= 1; got {k}")
    k = min(k, index.size - (self_ids is not None))
    if k < 1:
        raise DataError(f"{index.size} train text(s): too few to find any neighbour (a train text never counts itself)")
    want = k + (self_ids is not None)
    out_i = np.full((len(queries), k), -1, dtype=np.int64)
    out_s = np.full((len(queries), k), -1.0, dtype=np.float32)
    for row, v in enumerate(tqdm(queries, desc="annoy search", disable=not progress, unit="doc", mininterval=1)):
        ids, dist = index.index.get_nns_by_vector(v, want, search_k=search_k, include_distances=True)
        ids, dist = np.asarray(ids, dtype=np.int64), np.asarray(dist, dtype=np.float32)
        if self_ids is not None:
            keep = ids != self_ids[row]
            if keep.all():  # own index not among the k+1 (ties, or an approximate miss): drop the worst
                keep[-1] = False
            ids, dist = ids[keep], dist[keep]
        n = min(k, len(ids))
        out_i[row, :n] = ids[:n]
        out_s[row, :n] = 1.0 - dist[:n] ** 2 / 2.0
    return out_i, out_s


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean over queries of |approx ∩ exact| / k (rows of indices; -1 = missing)."""
    k = exact.shape[1]
    hits = sum(len(np.intersect1d(a[a >= 0], e)) for a, e in zip(approx, exact))
    return hits / (k * len(exact)) if len(exact) else 1.0


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def find_neighbours(
    train: np.ndarray,
    test: np.ndarray,
    *,
    k: int = 10,
    backend: str = "annoy",
    n_trees: int = 50,
    search_k: int = -1,
    seed: int = 13,
    recall_sample: int = 2000,
    progress: bool = True,
):
    """Neighbours of every train document (itself excluded) and every test document, among train.

    ``train`` and ``test`` are dense vectors (searched with ``backend``) or sparse rows (TF-IDF,
    always searched exactly; the report then says ``"vectors": "tfidf"``).

    Returns ``(train_idx, train_sim, test_idx, test_sim, annoy_index_or_None, report)``; the
    report holds Annoy's recall@k against exact search on a seeded sample of queries
    (``recall_sample`` per split) and the query time of both.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"neighbours backend must be one of {BACKENDS}, got {backend!r}")
    self_ids = np.arange(train.shape[0])
    report: dict = {"backend": backend, "k": k, "train_documents": train.shape[0], "test_documents": test.shape[0]}
    index = None
    if sp.issparse(train):  # TF-IDF rows: Annoy takes dense vectors only, so the search is exact
        report.update(backend="exact", vectors="tfidf")
    if report["backend"] == "exact":
        search = sparse_search if sp.issparse(train) else exact_search
        (tr_i, tr_s), t1 = timed(search, train, train, k, self_ids, progress=progress)
        (te_i, te_s), t2 = timed(search, test, train, k, progress=progress)
        report.update(
            build_s=0.0, query_ms_per_doc={"exact": round(1000 * (t1 + t2) / (train.shape[0] + test.shape[0]), 4)}
        )  # no index to build
        return tr_i, tr_s, te_i, te_s, None, report
    index, t_build = timed(annoy_build, train, n_trees, seed, progress)
    (tr_i, tr_s), t1 = timed(annoy_search, index, train, k, search_k, self_ids, progress)
    (te_i, te_s), t2 = timed(annoy_search, index, test, k, search_k, None, progress)
    rng = np.random.default_rng(seed)
    recall, exact_time, n_exact = {}, 0.0, 0
    for name, queries, approx, own in (("train", train, tr_i, self_ids), ("test", test, te_i, None)):
        sample = np.sort(rng.choice(len(queries), min(recall_sample, len(queries)), replace=False))
        (ex_i, _), t = timed(exact_search, queries[sample], train, k, None if own is None else own[sample])
        exact_time, n_exact = exact_time + t, n_exact + len(sample)
        recall[name] = round(recall_at_k(approx[sample], ex_i), 4)
    report.update(
        {
            "n_trees": n_trees,
            "search_k": search_k,
            f"recall@{k}": recall,
            "recall_sample": recall_sample,
            "build_s": round(t_build, 3),
            "query_ms_per_doc": {
                "annoy": round(1000 * (t1 + t2) / (len(train) + len(test)), 4),
                "exact": round(1000 * exact_time / max(n_exact, 1), 4),
            },
        }
    )
    return tr_i, tr_s, te_i, te_s, index, report


def neighbour_table(ids, indices: np.ndarray, sims: np.ndarray, train_ids: np.ndarray) -> pa.Table:
    """Rows ``(id, neighbours: train ids best first, similarities)``; missing (-1) entries dropped."""
    keep = indices >= 0
    rows, n = np.nonzero(keep)[0], len(indices)
    return pa.table(
        {
            "id": ids,
            "neighbours": lists_from_parents(pa.array(train_ids[indices[keep]], pa.string()), rows, n),
            "similarities": lists_from_parents(pa.array(sims[keep], pa.float32()), rows, n),
        }
    )


def table_neighbours(table: pa.Table, train_ids) -> tuple[np.ndarray, np.ndarray]:
    """Back from a neighbour table to ``(indices, similarities)`` arrays (padded with -1)."""
    col = table["neighbours"].combine_chunks()
    idx = pc.index_in(pc.list_flatten(col), value_set=pa.array(train_ids, pa.string()))
    if idx.null_count:
        raise ValueError("a neighbour id is not a train id")
    lengths = pc.list_value_length(col).to_numpy()
    width = int(lengths.max()) if len(lengths) else 0
    out_i = padded(lists_from_parents(idx, pc.list_parent_indices(col).to_numpy(), len(col)), width)
    out_s = padded(table["similarities"], width, fill=-1.0, dtype=np.float32)
    return out_i, out_s
