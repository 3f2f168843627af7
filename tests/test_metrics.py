"""P@k, nDCG@k, PSP@k: hand-computed examples, napkinXC's edge cases, and napkinXC as an oracle."""

from __future__ import annotations

from math import log, log2

import napkinxc.metrics as m  # the oracle; pinned in requirements.txt
import numpy as np
import pytest
import scipy.sparse as sp

from pipeline.report.metrics import (
    evaluate,
    evaluate_per_document,
    inverse_propensity,
    metrics_at_k,
    per_document,
    precision_by_frequency,
    precision_by_frequency_at_k,
    ratio,
    relevance,
    to_index_arrays,
)

# Two documents used by several tests.
#   doc 0: true {a, b}, ranked a x b  -> relevance 1 0 1
#   doc 1: true {c},    ranked d c a  -> relevance 0 1 0
TRUE = [["a", "b"], ["c"]]
PRED = [["a", "x", "b"], ["d", "c", "a"]]
COUNTS = {"a": 50, "b": 3, "c": 1, "d": 9}  # "x" was never seen in training


def test_precision_at_k_by_hand():
    r = evaluate(TRUE, PRED, COUNTS, n_train=100)
    # P@1: doc 0 hits a (1/1), doc 1 misses d (0/1)          -> (1 + 0) / 2
    assert r["P@1"] == pytest.approx((1 + 0) / 2)
    # P@3: doc 0 hits a, b (2/3), doc 1 hits c (1/3)          -> (2/3 + 1/3) / 2
    assert r["P@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    # P@5: only 3 predictions and at most 2 true labels, divisor still 5: (2/5 + 1/5) / 2
    assert r["P@5"] == pytest.approx((2 / 5 + 1 / 5) / 2)


def test_ndcg_at_k_by_hand():
    r = evaluate(TRUE, PRED, COUNTS, n_train=100)
    # doc 0: DCG@1 = 1, IDCG@1 = 1; doc 1: DCG@1 = 0                      -> (1 + 0) / 2
    assert r["nDCG@1"] == pytest.approx(0.5)
    # doc 0: DCG@3 = 1/log2(2) + 1/log2(4) = 1.5; IDCG over min(3, |y|=2) ranks = 1 + 1/log2(3)
    # doc 1: DCG@3 = 1/log2(3);                   IDCG over min(3, |y|=1) rank  = 1
    doc0 = (1 + 1 / log2(4)) / (1 + 1 / log2(3))
    doc1 = (1 / log2(3)) / 1
    assert r["nDCG@3"] == pytest.approx((doc0 + doc1) / 2)
    # nothing beyond rank 3, and the ideal stops at |y| ranks: same as @3
    assert r["nDCG@5"] == pytest.approx((doc0 + doc1) / 2)


def test_inverse_propensity_by_hand():
    # With A = 1, B = 1, N = 100: C = (ln 100 - 1) * (1 + 1)^1 = 2 ln 100 - 2
    #   N_l = 1: q = 1 + C / (1 + 1) = ln 100
    #   N_l = 0: q = 1 + C / (0 + 1) = 2 ln 100 - 1
    #   N_l = 3: q = 1 + C / (3 + 1) = (ln 100 + 1) / 2
    q = inverse_propensity(np.array([1, 0, 3]), n_train=100, a=1.0, b=1.0)
    np.testing.assert_allclose(q, [log(100), 2 * log(100) - 1, (log(100) + 1) / 2], rtol=1e-12)


def test_rare_labels_weigh_more():
    q = inverse_propensity(np.array([0, 1, 10, 1000]), n_train=10_000)
    assert np.all(np.diff(q) < 0) and q[-1] > 1


def test_psp_is_a_ratio_of_sums_by_hand():
    # labels 0..3 with q = 1, 2, 3, 4
    #   doc 0: true {0, 1}, ranked 0 2      -> weighted hits 1 (@1), 1 (@2); best 2 (@1), 2+1 = 3 (@2)
    #   doc 1: true {3},    ranked 1 3 0    -> weighted hits 0 (@1), 4 (@2); best 4 (@1), 4     (@2)
    #   doc 2: true {},     ranked 3        -> nothing, in either sum
    true = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]))
    top = np.array([[0, 2, -1], [1, 3, 0], [3, -1, -1]])
    r = metrics_at_k(true, top, inv_ps=np.array([1.0, 2.0, 3.0, 4.0]), ks=(1, 2, 3))
    assert r["PSP@1"] == pytest.approx((1 + 0) / (2 + 4))
    assert r["PSP@2"] == pytest.approx((1 + 4) / (3 + 4))  # a mean of ratios would be (1/3 + 1) / 2
    assert r["PSP@3"] == pytest.approx((1 + 4) / (3 + 4))
    # the empty doc 2 still counts in the P@k and nDCG@k means, with 0
    assert r["P@1"] == pytest.approx((1 + 0 + 0) / 3)
    assert r["nDCG@1"] == pytest.approx((1 + 0 + 0) / 3)
    napkin = m.psprecision_at_k([[0, 1], [3], []], [[0, 2], [1, 3, 0], [3]], [1.0, 2, 3, 4], k=3)
    np.testing.assert_allclose(napkin, [1 / 6, 5 / 7, 5 / 7])


def test_result_keys_and_types():
    r = evaluate(TRUE, PRED, COUNTS, n_train=100)
    assert list(r) == ["P@1", "P@3", "P@5", "nDCG@1", "nDCG@3", "nDCG@5", "PSP@1", "PSP@3", "PSP@5"]
    assert all(type(v) is float and 0.0 <= v <= 1.0 for v in r.values())
    assert list(evaluate(TRUE, PRED, COUNTS, n_train=100, ks=(2,))) == ["P@2", "nDCG@2", "PSP@2"]


def test_perfect_ranking_scores_one():
    r = evaluate([["a", "b"], ["c"]], [["b", "a"], ["c"]], COUNTS, n_train=100)
    assert r["P@1"] == 1.0 and r["nDCG@5"] == pytest.approx(1.0) and r["PSP@5"] == pytest.approx(1.0)


def test_perfect_rankings_never_score_psp_above_one():
    """The best-possible sum and the gained sum add the same floats in other orders."""
    rng = np.random.default_rng(5)
    above = 0
    for _ in range(50):
        n, labels = 40, 30
        true = sp.csr_matrix((rng.random((n, labels)) < 0.1).astype(np.float32))
        q = inverse_propensity(rng.integers(1, 500, labels), 1000)
        top = np.full((n, 5), -1)
        for i in range(n):  # a perfect top 5, listed in a shuffled order of equal worth
            ls = true[i].indices
            best = ls[np.argsort(-q[ls], kind="stable")][:5]
            top[i, : len(best)] = rng.permutation(best)
        r = metrics_at_k(true, top, q)
        raw = np.where(top >= 0, q[np.maximum(top, 0)], 0).sum()
        above += raw > sum(np.sort(q[true[i].indices])[::-1][:5].sum() for i in range(n))
        assert r["PSP@5"] <= 1.0 and r["PSP@5"] == pytest.approx(1.0)
    assert above > 0  # the float effect the clamp is for does occur in these draws


# --- edge cases: napkinXC's behaviour is the reference -------------------------------------


def test_document_without_true_labels_scores_zero_but_counts_in_p_and_ndcg():
    base = evaluate(TRUE, PRED, COUNTS, n_train=100)
    more = evaluate(TRUE + [[]], PRED + [["a", "b"]], COUNTS, n_train=100)
    for k in (1, 3, 5):
        assert more[f"P@{k}"] == pytest.approx(base[f"P@{k}"] * 2 / 3)
        assert more[f"nDCG@{k}"] == pytest.approx(base[f"nDCG@{k}"] * 2 / 3)
        assert more[f"PSP@{k}"] == pytest.approx(base[f"PSP@{k}"])  # adds 0 to both sums
    ints = [[0, 1], [2], []], [[0, 9, 1], [3, 2, 0], [0, 1]]
    np.testing.assert_allclose(m.precision_at_k(*ints, k=5)[[0, 2, 4]], [more["P@1"], more["P@3"], more["P@5"]])
    np.testing.assert_allclose(m.ndcg_at_k(*ints, k=5)[[0, 2, 4]], [more["nDCG@1"], more["nDCG@3"], more["nDCG@5"]])


def test_no_true_labels_anywhere_gives_zero_not_nan():
    r = evaluate([[], []], [["a"], []], COUNTS, n_train=100)
    assert all(v == 0.0 for v in r.values())


def test_no_predictions_at_all_score_zero():
    r = evaluate(TRUE, [[], []], COUNTS, n_train=100)
    assert all(v == 0.0 for v in r.values())


def test_label_unseen_in_train_gets_the_largest_weight():
    # "new" has N_l = 0, "old" N_l = 40. doc: true {new, old}, ranked: old.
    # PSP@1 = q_old / q_new (the best top 1 is "new"); q_new = 1 + C B^-A.
    n, a, b = 1000, 0.55, 1.5
    c = (log(n) - 1) * (b + 1) ** a
    q_new, q_old = 1 + c * (0 + b) ** -a, 1 + c * (40 + b) ** -a
    r = evaluate([["new", "old"]], [["old"]], {"old": 40}, n_train=n, ks=(1, 2))
    assert r["PSP@1"] == pytest.approx(q_old / q_new)
    assert r["PSP@2"] == pytest.approx(q_old / (q_new + q_old))
    # a hit on the unseen label itself
    assert evaluate([["new", "old"]], [["new"]], {"old": 40}, n_train=n, ks=(1,))["PSP@1"] == pytest.approx(1.0)


def test_predicted_label_unseen_anywhere_is_a_miss():
    r = evaluate([["a"]], [["zzz", "a"]], COUNTS, n_train=100, ks=(1, 2))
    assert r["P@1"] == 0.0 and r["P@2"] == 0.5


def test_repeated_true_label_counts_once():
    assert evaluate([["a", "a"]], [["a"]], COUNTS, n_train=100) == evaluate([["a"]], [["a"]], COUNTS, n_train=100)


def test_rankings_longer_than_k_are_cut():
    r = evaluate([["f"]], [["a", "b", "c", "d", "e", "f"]], COUNTS, n_train=100)
    assert r["P@5"] == 0.0


# --- input errors ----------------------------------------------------------------------------


def test_different_numbers_of_documents_are_an_error():
    with pytest.raises(ValueError, match="2 documents but predicted has 1"):
        evaluate(TRUE, PRED[:1], COUNTS, n_train=100)
    with pytest.raises(ValueError, match="documents"):
        metrics_at_k(sp.csr_matrix((2, 4)), np.zeros((3, 1), dtype=int))


@pytest.mark.parametrize("ks", [(0,), (1, -3), (), (1.5,)])
def test_bad_k_is_an_error(ks):
    with pytest.raises(ValueError, match="k"):
        evaluate(TRUE, PRED, COUNTS, n_train=100, ks=ks)


def test_duplicate_prediction_is_an_error():
    # napkinXC would count the repeat twice (P@2 of true {a}, ranked a a, would be 1.0)
    with pytest.raises(ValueError, match="document 1: predicted label 'c' appears twice"):
        evaluate(TRUE, [["a"], ["c", "d", "c"]], COUNTS, n_train=100)
    with pytest.raises(ValueError, match="document 0 has label index 2 twice"):
        metrics_at_k(sp.csr_matrix((1, 4)), np.array([[2, -1, 2]]))


def test_core_rejects_bad_arrays():
    true = sp.csr_matrix((2, 4))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        metrics_at_k(true, np.array([[4], [0]]))
    with pytest.raises(ValueError, match="integer"):
        metrics_at_k(true, np.array([[0.0], [1.0]]))
    with pytest.raises(ValueError, match="one value per label"):
        metrics_at_k(true, np.array([[0], [1]]), inv_ps=np.ones(3))
    with pytest.raises(ValueError, match="no documents"):
        metrics_at_k(sp.csr_matrix((0, 4)), np.zeros((0, 1), dtype=int))


def test_bad_propensity_inputs_are_errors():
    with pytest.raises(ValueError, match="n_train"):
        inverse_propensity(np.array([1]), n_train=0)
    with pytest.raises(ValueError, match="train_counts"):
        inverse_propensity(np.array([5]), n_train=3)
    with pytest.raises(ValueError, match="train_counts"):
        evaluate(TRUE, PRED, {"a": 500}, n_train=100)


# --- the core on index arrays ----------------------------------------------------------------


def test_to_index_arrays_and_relevance():
    true_m, top, vocab = to_index_arrays(TRUE, PRED, k=4)
    assert vocab == ["a", "b", "c", "x", "d"]
    assert true_m.toarray().tolist() == [[1, 1, 0, 0, 0], [0, 0, 1, 0, 0]]
    assert top.tolist() == [[0, 3, 1, -1], [4, 2, 0, -1]]
    assert relevance(true_m, top).tolist() == [[True, False, True, False], [False, True, False, False]]


def test_core_and_string_layer_agree():
    true_m, top, vocab = to_index_arrays(TRUE, PRED, k=5)
    q = inverse_propensity(np.array([COUNTS.get(lab, 0) for lab in vocab]), n_train=100)
    assert metrics_at_k(true_m, top, q) == evaluate(TRUE, PRED, COUNTS, n_train=100)


# --- precision by training frequency (tail labels) -------------------------------------------


def test_precision_by_frequency_by_hand():
    # hits in the top 3: doc 0 a (N=50), b (N=3); doc 1 c (N=1). Divisor k = 3, 2 documents.
    # true occurrences: a (50), b (3), c (1)
    rows = precision_by_frequency(TRUE, PRED, COUNTS, bins=((0, 0), (1, 5), (6, 20), (21, None)), k=3)
    assert [r["bin"] for r in rows] == ["0", "1-5", "6-20", "21+"]
    assert [r["P@3"] for r in rows] == pytest.approx([0, (1 / 3 + 1 / 3) / 2, 0, (1 / 3 + 0) / 2])
    assert [r["test_occurrences"] for r in rows] == [0, 2, 0, 1]
    assert rows[3]["lo"] == 21 and rows[3]["hi"] is None


def test_unseen_labels_fall_in_a_zero_bin():
    rows = precision_by_frequency([["new", "a"]], [["new"]], COUNTS, bins=((0, 0), (1, None)), k=1)
    assert [(r["P@1"], r["test_occurrences"]) for r in rows] == [(1.0, 1), (0.0, 1)]


def test_bad_bins_are_errors():
    with pytest.raises(ValueError, match="bin"):
        precision_by_frequency(TRUE, PRED, COUNTS, bins=((5, 1),))
    with pytest.raises(ValueError, match="bin"):
        precision_by_frequency(TRUE, PRED, COUNTS, bins=())


# --- napkinXC as the oracle --------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_problem():
    """500 test documents x 200 labels, 1000 training documents; labels 190-199 never in train."""
    rng = np.random.default_rng(20240611)
    n_labels, n_train, n_test = 200, 1000, 500
    popularity = rng.dirichlet(np.full(n_labels, 0.3))
    popularity[190:] = 0.0
    popularity /= popularity.sum()
    train_rows = [rng.choice(n_labels, size=rng.integers(1, 6), replace=False, p=popularity) for _ in range(n_train)]
    y_train = sp.csr_matrix(
        (np.ones(sum(map(len, train_rows))), np.concatenate(train_rows), np.cumsum([0] + [len(r) for r in train_rows])),
        shape=(n_train, n_labels),
    )
    true, pred = [], []
    for _ in range(n_test):
        t = rng.choice(n_labels, size=rng.integers(0, 9), replace=False)  # 0 to 8 labels, some docs empty
        # rankings of length 0 to 7 that mix true labels (hits) with others, some unseen in train
        candidates = np.concatenate([t, rng.choice(n_labels, size=8, replace=False)])
        p = list(dict.fromkeys(rng.permutation(candidates).tolist()))[: rng.integers(0, 8)]
        true.append(sorted(t.tolist()))
        pred.append(p)
    return y_train, true, pred


def test_inverse_propensity_matches_napkinxc(random_problem):
    y_train = random_problem[0]
    counts = np.asarray((y_train != 0).sum(axis=0)).ravel()
    ours = inverse_propensity(counts, n_train=y_train.shape[0])
    np.testing.assert_allclose(ours, m.Jain_et_al_inverse_propensity(y_train), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        inverse_propensity(counts, y_train.shape[0], a=0.6, b=2.6),
        m.Jain_et_al_inverse_propensity(y_train, A=0.6, B=2.6),
        rtol=0,
        atol=1e-12,
    )


def test_metrics_match_napkinxc(random_problem):
    y_train, true, pred = random_problem
    n_labels = y_train.shape[1]
    inv_ps = m.Jain_et_al_inverse_propensity(y_train)
    expected = {
        "P": m.precision_at_k(true, pred, k=5),
        "nDCG": m.ndcg_at_k(true, pred, k=5),
        "PSP": m.psprecision_at_k(true, pred, inv_ps, k=5),
    }
    # the string layer ...
    names = [f"L{i}" for i in range(n_labels)]
    counts = np.asarray((y_train != 0).sum(axis=0)).ravel()
    train_counts = {names[i]: int(c) for i, c in enumerate(counts) if c}  # unseen labels absent
    got = evaluate(
        [[names[i] for i in t] for t in true],
        [[names[i] for i in p] for p in pred],
        train_counts,
        n_train=y_train.shape[0],
        ks=range(1, 6),
    )
    # ... and the core on index arrays
    true_m = sp.csr_matrix(
        (np.ones(sum(map(len, true))), np.concatenate(true).astype(int), np.cumsum([0] + [len(t) for t in true])),
        shape=(len(true), n_labels),
    )
    top = np.full((len(pred), 7), -1)
    for i, p in enumerate(pred):
        top[i, : len(p)] = p
    core = metrics_at_k(true_m, top, inv_ps, ks=range(1, 6))
    assert sum(1 for t in true if not t) > 5 and sum(1 for p in pred if len(p) < 5) > 100  # edge cases present
    for metric, values in expected.items():
        for k in range(1, 6):
            assert got[f"{metric}@{k}"] == pytest.approx(values[k - 1], abs=1e-9), f"{metric}@{k}"
            assert core[f"{metric}@{k}"] == pytest.approx(values[k - 1], abs=1e-9), f"{metric}@{k}"


def test_precision_by_frequency_bins_add_up_to_precision(random_problem):
    y_train, true, pred = random_problem
    counts = np.asarray((y_train != 0).sum(axis=0)).ravel()
    true_m, top, vocab = to_index_arrays(true, pred, k=5)
    label_counts = counts[np.array(vocab)]
    rows = precision_by_frequency_at_k(
        true_m, top, label_counts, bins=((0, 0), (1, 5), (6, 20), (21, 100), (101, None))
    )
    assert sum(r["P@5"] for r in rows) == pytest.approx(m.precision_at_k(true, pred, k=5)[4], abs=1e-12)
    assert sum(r["test_occurrences"] for r in rows) == sum(map(len, true))
    assert rows[0]["test_occurrences"] > 0  # labels 190-199 are in the test set, never in train


def test_per_document_parts_by_hand_and_they_sum_to_the_metric():
    # the same three documents as test_psp_is_a_ratio_of_sums_by_hand (q = 1, 2, 3, 4)
    true = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]))
    top = np.array([[0, 2, -1], [1, 3, 0], [3, -1, -1]])
    q = np.array([1.0, 2.0, 3.0, 4.0])
    parts = per_document(true, top, q, ks=(1, 2))
    np.testing.assert_allclose(parts["P@2"][0], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(parts["nDCG@2"][0], [1 / (1 + 1 / np.log2(3)), 1 / np.log2(3), 0.0])
    np.testing.assert_allclose(parts["PSP@1"][0], [1, 0, 0])
    np.testing.assert_allclose(parts["PSP@1"][1], [2, 4, 0])
    np.testing.assert_allclose(parts["PSP@2"][1], [3, 4, 0])
    whole = metrics_at_k(true, top, q, ks=(1, 2))
    assert {k: ratio(*v) for k, v in parts.items()} == whole
    strings = evaluate_per_document(TRUE, PRED, COUNTS, n_train=100)
    assert {k: ratio(*v) for k, v in strings.items()} == evaluate(TRUE, PRED, COUNTS, n_train=100)
    assert all(len(num) == len(den) == len(TRUE) for num, den in strings.values())
