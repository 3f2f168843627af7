"""Nearest train texts by cosine similarity (Eq. 2): exact search, Annoy, and their tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline import schemas
from pipeline.neighbours import (
    annoy_build,
    annoy_search,
    exact_search,
    find_neighbours,
    neighbour_table,
    recall_at_k,
    table_neighbours,
)


def brute_force(queries: np.ndarray, base: np.ndarray, k: int, self_ids=None):
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    b = base / np.linalg.norm(base, axis=1, keepdims=True)
    sims = q @ b.T
    if self_ids is not None:
        sims[np.arange(len(q)), self_ids] = -np.inf
    idx = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(sims, idx, axis=1)


def clustered(n: int, dim: int, n_clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim))
    return (centres[rng.integers(n_clusters, size=n)] + 0.5 * rng.normal(size=(n, dim))).astype(np.float32)


def with_duplicate(n: int = 300, dim: int = 16, seed: int = 4) -> tuple[np.ndarray, int, int]:
    """Train vectors where row b is an exact copy of row a."""
    x = clustered(n, dim, 8, seed)
    a, b = 17, 211
    x[b] = x[a]
    return x, a, b


def annoy_self(base, k, n_trees=20):
    """Annoy neighbours of every base vector among the others (itself excluded)."""
    return annoy_search(annoy_build(base, n_trees=n_trees, seed=1), base, k, self_ids=np.arange(len(base)))


# --- exact search ----------------------------------------------------------------


def test_exact_search_matches_brute_force_cosine():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(500, 24)).astype(np.float32)
    queries = rng.normal(size=(70, 24)).astype(np.float32) * rng.uniform(0.1, 10, size=(70, 1)).astype(np.float32)
    idx, sims = exact_search(queries, base, 7, block=32)  # several blocks, the last one partial
    want_i, want_s = brute_force(queries.astype(np.float64), base.astype(np.float64), 7)
    assert idx.shape == sims.shape == (70, 7) and idx.dtype == np.int64 and sims.dtype == np.float32
    np.testing.assert_array_equal(idx, want_i)
    np.testing.assert_allclose(sims, want_s, atol=1e-5)
    assert np.all(np.diff(sims, axis=1) <= 0)  # best first


def test_exact_search_with_self_ids_excludes_each_query_itself():
    base = clustered(400, 16, 5, seed=1)
    self_ids = np.arange(len(base))
    idx, sims = exact_search(base, base, 5, self_ids, block=64)
    assert not np.any(idx == self_ids[:, None])
    want_i, want_s = brute_force(base.astype(np.float64), base.astype(np.float64), 5, self_ids)
    np.testing.assert_array_equal(idx, want_i)
    np.testing.assert_allclose(sims, want_s, atol=1e-5)


def test_exact_search_asks_for_at_most_all_other_documents():
    base = np.eye(3, dtype=np.float32)
    idx, _ = exact_search(base, base, 10, np.arange(3))
    assert idx.shape == (3, 2)
    assert [sorted(row) for row in idx.tolist()] == [[1, 2], [0, 2], [0, 1]]
    with pytest.raises(ValueError, match="not enough train documents"):
        exact_search(base[:1], base[:1], 3, np.arange(1))


def test_annoy_search_with_self_ids_excludes_each_query_itself():
    base = clustered(400, 16, 5, seed=2)
    self_ids = np.arange(len(base))
    idx, sims = annoy_self(base, 5)
    assert idx.shape == (400, 5)
    assert np.all(idx >= 0)
    assert not np.any(idx == self_ids[:, None])


@pytest.mark.parametrize("backend", ["exact", "annoy"])
def test_a_duplicate_is_found_and_exclusion_is_by_index(backend):
    x, a, b = with_duplicate()
    self_ids = np.arange(len(x))
    if backend == "exact":
        idx, sims = exact_search(x, x, 5, self_ids)
    else:
        idx, sims = annoy_self(x, 5)
    # A's nearest neighbour is its copy A' (cosine 1), and the other way round ...
    assert idx[a, 0] == b and idx[b, 0] == a
    assert sims[a, 0] == pytest.approx(1.0, abs=1e-5) and sims[b, 0] == pytest.approx(1.0, abs=1e-5)
    # ... and neither is ever its own neighbour.
    assert a not in idx[a] and b not in idx[b]


# --- Annoy against exact ---------------------------------------------------------------


def test_annoy_similarities_are_the_exact_cosines_of_the_returned_pairs():
    base = clustered(500, 20, 6, seed=3)
    queries = clustered(50, 20, 6, seed=30)
    idx, sims = annoy_search(annoy_build(base, n_trees=10, seed=1), queries, 8)
    assert np.all(idx >= 0)
    qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    bn = base / np.linalg.norm(base, axis=1, keepdims=True)
    cos = np.einsum("qd,qkd->qk", qn.astype(np.float64), bn[idx].astype(np.float64))
    np.testing.assert_allclose(sims, cos, atol=1e-4)  # cos = 1 - d^2 / 2
    assert np.all(np.diff(sims, axis=1) <= 1e-6)


def test_annoy_recall_against_exact_is_high_on_clustered_data():
    base = clustered(3000, 32, 30, seed=5)
    queries = clustered(300, 32, 30, seed=50)
    index = annoy_build(base, n_trees=50, seed=13)  # params.yaml: n_trees 50, search_k 5000
    approx, _ = annoy_search(index, queries, 10, search_k=5000)
    exact, _ = exact_search(queries, base, 10)
    assert recall_at_k(approx, exact) >= 0.9
    # train queries with themselves excluded
    sample = np.arange(0, 3000, 10)
    approx_tr, _ = annoy_search(index, base[sample], 10, search_k=5000, self_ids=sample)
    exact_tr, _ = exact_search(base[sample], base, 10, self_ids=sample)
    assert recall_at_k(approx_tr, exact_tr) >= 0.9


def test_recall_at_k_by_hand():
    exact = np.array([[1, 2, 3], [4, 5, 6]])
    approx = np.array([[3, 1, 9], [-1, 7, 8]])  # 2 of 3 found; none found (-1 = missing)
    assert recall_at_k(approx, exact) == pytest.approx((2 + 0) / 6)
    assert recall_at_k(exact[:, ::-1], exact) == 1.0  # order does not matter
    assert recall_at_k(np.array([[-1, -1, -1]]), np.array([[0, 1, 2]])) == 0.0  # -1 is never a hit


# --- find_neighbours -------------------------------------------------------------------


def test_find_neighbours_exact_backend_is_exact_search():
    train, test = clustered(200, 12, 4, seed=6), clustered(40, 12, 4, seed=60)
    tr_i, tr_s, te_i, te_s, index, report = find_neighbours(train, test, k=4, backend="exact", progress=False)
    assert index is None
    want_tr = exact_search(train, train, 4, np.arange(200))
    want_te = exact_search(test, train, 4)
    np.testing.assert_array_equal(tr_i, want_tr[0])
    np.testing.assert_array_equal(tr_s, want_tr[1])
    np.testing.assert_array_equal(te_i, want_te[0])
    np.testing.assert_array_equal(te_s, want_te[1])
    assert report["backend"] == "exact" and report["k"] == 4
    assert (report["train_documents"], report["test_documents"]) == (200, 40)
    assert "exact" in report["query_ms_per_doc"]


def test_find_neighbours_annoy_reports_recall_and_timings():
    train, test = clustered(300, 12, 4, seed=7), clustered(50, 12, 4, seed=70)
    tr_i, tr_s, te_i, te_s, index, report = find_neighbours(
        train, test, k=5, backend="annoy", n_trees=20, search_k=2000, recall_sample=100, progress=False
    )
    assert tr_i.shape == (300, 5) and te_i.shape == (50, 5)
    assert not np.any(tr_i == np.arange(300)[:, None])
    assert index is not None and index.size == 300
    recall = report["recall@5"]
    assert set(recall) == {"train", "test"}
    assert all(0.9 <= r <= 1.0 for r in recall.values())
    assert set(report["query_ms_per_doc"]) == {"annoy", "exact"}
    assert report["build_s"] >= 0 and all(t >= 0 for t in report["query_ms_per_doc"].values())
    assert (report["n_trees"], report["search_k"], report["recall_sample"]) == (20, 2000, 100)


def test_find_neighbours_rejects_an_unknown_backend():
    x = np.eye(4, dtype=np.float32)
    with pytest.raises(ValueError, match="backend"):
        find_neighbours(x, x, backend="faiss", progress=False)


# --- neighbour tables ----------------------------------------------------------------


def test_neighbour_table_round_trip_uses_train_ids_and_drops_missing():
    train_ids = np.array(["tr-a", "tr-b", "tr-c", "tr-d"], dtype=object)
    indices = np.array([[2, 0, -1], [3, -1, -1], [1, 2, 3]])
    sims = np.array([[0.9, 0.5, -1], [0.7, -1, -1], [0.8, 0.6, 0.1]], dtype=np.float32)
    table = schemas.conform(neighbour_table(pa.array(["q1", "q2", "q3"]), indices, sims, train_ids), "neighbours")
    assert table["neighbours"].to_pylist() == [["tr-c", "tr-a"], ["tr-d"], ["tr-b", "tr-c", "tr-d"]]
    assert [len(s) for s in table["similarities"].to_pylist()] == [2, 1, 3]
    np.testing.assert_array_equal(pc.list_flatten(table["similarities"]).to_numpy(), sims[indices >= 0])
    back_i, back_s = table_neighbours(table, train_ids)
    np.testing.assert_array_equal(back_i, indices)
    np.testing.assert_array_equal(back_s, sims)


def test_table_neighbours_rejects_an_id_that_is_not_a_train_id():
    table = pa.table(
        {"id": ["q"], "neighbours": [["tr-a", "te-9"]], "similarities": pa.array([[0.5, 0.4]], pa.list_(pa.float32()))}
    )
    with pytest.raises(ValueError, match="not a train id"):
        table_neighbours(table, np.array(["tr-a", "tr-b"], dtype=object))
