"""Nearest train texts by cosine similarity (Eq. 2): exact search, Annoy, and their tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import scipy.sparse as sp

from pipeline import schemas
from pipeline.errors import ConfigError, DataError
from pipeline.method.neighbours import (
    annoy_build,
    annoy_search,
    check_vectors,
    exact_search,
    find_neighbours,
    neighbour_table,
    recall_at_k,
    sparse_search,
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
    with pytest.raises(DataError, match=r"1 train text\(s\): too few to find any neighbour"):
        exact_search(base[:1], base[:1], 3, np.arange(1))
    with pytest.raises(ConfigError, match="neighbours.k must be a whole number >= 1; got 0"):
        exact_search(base, base, 0)


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


# --- sparse (TF-IDF) search --------------------------------------------------------


def sparse_rows(n: int, dim: int, seed: int, density: float = 0.05) -> sp.csr_matrix:
    """Random nonnegative sparse rows, unnormalised, like raw term weights; every row has an entry."""
    m = sp.random(n, dim, density=density, format="csr", random_state=seed, dtype=np.float32)
    m = m + sp.csr_matrix((np.ones(n, np.float32), (np.arange(n), np.arange(n) % dim)), shape=(n, dim))
    return sp.csr_matrix(m)


def test_sparse_search_matches_brute_force_cosine_on_dense_copies():
    base, queries = sparse_rows(400, 300, seed=1), sparse_rows(60, 300, seed=2) * 7.0  # scale must not matter
    idx, sims = sparse_search(queries, base, 6, cells=400 * 16)  # blocks of 16 queries, the last one partial
    want_i, want_s = brute_force(queries.toarray().astype(np.float64), base.toarray().astype(np.float64), 6)
    assert idx.shape == sims.shape == (60, 6) and idx.dtype == np.int64 and sims.dtype == np.float32
    np.testing.assert_allclose(sims, want_s, atol=1e-5)
    same = np.abs(np.diff(want_s, axis=1)) > 1e-5  # where the brute-force order is not a tie, the indices agree
    agree = idx == want_i
    assert agree[:, 0].all() and np.all(agree[:, 1:] | ~same)


def test_sparse_search_agrees_with_the_dense_exact_search():
    base, queries = sparse_rows(300, 200, seed=3), sparse_rows(50, 200, seed=4)
    i_sp, s_sp = sparse_search(queries, base, 5)
    i_de, s_de = exact_search(queries.toarray(), base.toarray(), 5)
    np.testing.assert_allclose(s_sp, s_de, atol=1e-5)
    np.testing.assert_array_equal(i_sp[:, 0], i_de[:, 0])


def test_sparse_search_with_self_ids_excludes_each_query_itself_but_not_its_duplicate():
    base = sparse_rows(200, 150, seed=5).tolil()
    base[120] = base[30]  # an exact copy: a legitimate neighbour of row 30
    base = base.tocsr()
    idx, sims = sparse_search(base, base, 3, self_ids=np.arange(200), cells=200 * 32)
    assert not np.any(idx == np.arange(200)[:, None])
    assert idx[30, 0] == 120 and idx[120, 0] == 30 and sims[30, 0] == pytest.approx(1.0, abs=1e-6)


def test_sparse_search_of_a_text_without_known_words_gives_zero_similarities():
    base = sparse_rows(20, 30, seed=6)
    idx, sims = sparse_search(sp.csr_matrix((2, 30), dtype=np.float32), base, 4)
    assert idx.shape == (2, 4) and np.all(sims == 0)


def test_vectors_other_than_word2vec_and_tfidf_are_refused_by_name():
    assert check_vectors("tfidf") == "tfidf" and check_vectors("word2vec") == "word2vec"
    with pytest.raises(ConfigError, match="word2vec, tfidf.*'bm25'"):
        check_vectors("bm25")


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
    assert (
        "exact" in report["query_ms_per_doc"] and report["build_s"] == 0.0
    )  # what the knn stage reads as its training time


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


@pytest.mark.parametrize("backend", ["annoy", "exact"])
def test_find_neighbours_searches_sparse_rows_exactly_whatever_the_backend(backend):
    train, test = sparse_rows(150, 80, seed=8), sparse_rows(30, 80, seed=80)
    tr_i, tr_s, te_i, te_s, index, report = find_neighbours(train, test, k=4, backend=backend, progress=False)
    assert index is None  # Annoy indexes dense vectors only
    for got, want in (
        ((tr_i, tr_s), sparse_search(train, train, 4, np.arange(150))),
        ((te_i, te_s), sparse_search(test, train, 4)),
    ):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    assert report["backend"] == "exact" and report["vectors"] == "tfidf"
    assert (report["train_documents"], report["test_documents"]) == (150, 30) and "exact" in report["query_ms_per_doc"]


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
