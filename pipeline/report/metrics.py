"""Ranking metrics for extreme multi-label classification: P@k, nDCG@k, PSP@k.

The definitions are the ones napkinXC (``napkinxc.metrics``) and pyxclib compute,
and the tests hold this module against napkinXC to 1e-9:

- P@k: mean over documents of (hits in the top k) / k. The divisor is k even when
  a document has fewer than k true labels or fewer than k predictions.
- nDCG@k: mean over documents of DCG@k / IDCG@k, with
  DCG@k = sum over ranks r <= k of rel_r / log2(r + 1) and IDCG@k the same sum
  over the first min(k, |y|) ranks (all relevant).
- Inverse propensity (Jain et al. 2016): q_l = 1 + C (N_l + B)^(-A),
  C = (ln N - 1)(B + 1)^A, N = number of training documents, N_l = training
  documents with label l (0 for a label never seen in training).
- PSP@k: a ratio of sums over the whole test set, not a mean of per-document
  ratios: sum over documents of the q-weighted hits in the top k, divided by the
  same sum for the best possible top k (the k largest q_l among each document's
  true labels). napkinXC's ``PSPrecisionAtK`` accumulates both sums over
  documents and divides once in ``summarize`` (``self.sum / self.best_sum``).

Edge cases, all as napkinXC:

- A document with no true labels still counts in the P@k and nDCG@k means and
  scores 0 in both (napkinXC's ``zero_division=0``). For PSP@k it adds 0 to both
  sums, so it does not change the result.
- A predicted ranking shorter than k: the missing ranks are misses.
- A label never seen in training gets N_l = 0, i.e. the largest weight
  q = 1 + C B^(-A). napkinXC does the same when ``inv_ps`` is an array over all
  labels (e.g. computed from a train matrix with one column per label). With a
  dict ``inv_ps`` keyed by string labels, napkinXC instead gives an unseen true
  label weight 0 in the best top k and raises KeyError on a hit on it; we do not
  copy that.

Two layers. The core (``relevance``, ``metrics_at_k``, ``per_document``, ``precision_by_frequency_at_k``)
works on index arrays: ``true`` is a sparse (n_docs, n_labels) matrix whose
non-zeros are the true labels, ``top`` an int array (n_docs, K) of label indices,
best first, padded with -1. The string layer (``evaluate``, ``evaluate_per_document``,
``precision_by_frequency``)
takes lists of label strings, turns them into index arrays with ``to_index_arrays``
and calls the core. Everything is vectorised; no Python loop runs per document or
per label.

Input mistakes (different numbers of documents, k < 1, a label twice in one
ranking, ...) raise ValueError: they are bugs in the calling code, not in user data.
"""

from __future__ import annotations

from itertools import chain, repeat
from typing import Hashable, Sequence

import numpy as np
import scipy.sparse as sp

DEFAULT_KS = (1, 3, 5)
DEFAULT_BINS = ((1, 5), (6, 20), (21, 100), (101, None))


# --- inverse propensity -------------------------------------------------------------------


# The propensity model's constants A and B (Jain et al. 2016), the usual ones; params `evaluate.propensity_a/b`.
PROPENSITY_A, PROPENSITY_B = 0.55, 1.5


def inverse_propensity(
    train_counts: np.ndarray, n_train: int, a: float = PROPENSITY_A, b: float = PROPENSITY_B
) -> np.ndarray:
    """Jain et al. (2016) inverse propensity q_l = 1 + C (N_l + B)^(-A), C = (ln N - 1)(B + 1)^A.

    ``train_counts[l]`` is N_l, the number of training documents with label l (0 for
    a label never seen in training); ``n_train`` is N. A=0.55, B=1.5 are the usual
    constants. Equals ``napkinxc.metrics.Jain_et_al_inverse_propensity`` on the
    training label matrix.
    """
    counts = np.asarray(train_counts, dtype=np.float64)
    if counts.ndim != 1:
        raise ValueError(f"train_counts must be 1-D (one count per label), got shape {counts.shape}")
    if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)) or n_train < 1:
        raise ValueError(f"n_train must be a positive integer, got {n_train!r}")
    if counts.size and (counts.min() < 0 or counts.max() > n_train):
        raise ValueError(
            f"train_counts must lie in [0, n_train={n_train}] (documents per label), "
            f"got values in [{counts.min():g}, {counts.max():g}]"
        )
    c = (np.log(n_train) - 1.0) * (b + 1.0) ** a
    return 1.0 + c * (counts + b) ** (-a)


# --- core on index arrays -----------------------------------------------------------------


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    if isinstance(ks, (int, np.integer)):
        ks = (ks,)
    ks = tuple(ks)
    if not ks:
        raise ValueError("ks must name at least one k")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ValueError(f"k must be an integer, got {k!r}")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
    return tuple(int(k) for k in ks)


def _canonical_true(true) -> sp.csr_matrix:
    """A private copy of ``true`` as CSR with sorted, unique indices and no stored zeros."""
    if not (sp.issparse(true) or isinstance(true, np.ndarray)):
        raise ValueError(f"true must be a scipy.sparse matrix or a 2-D numpy array, got {type(true).__name__}")
    if true.ndim != 2:
        raise ValueError(f"true must be 2-D (n_docs, n_labels), got shape {true.shape}")
    m = sp.csr_matrix(true, copy=True)
    m.sum_duplicates()
    m.eliminate_zeros()
    return m


def _check_top(top, n_docs: int, n_labels: int, width: int) -> np.ndarray:
    """``top`` as int64 (n_docs, width): cut to ``width`` columns, or padded with -1 to it."""
    top = np.asarray(top)
    if top.ndim != 2:
        raise ValueError(f"top must be 2-D (n_docs, K), got shape {top.shape}")
    if top.shape[0] != n_docs:
        raise ValueError(f"true has {n_docs} documents but top has {top.shape[0]}")
    if top.size and not np.issubdtype(top.dtype, np.integer):
        raise ValueError(f"top must hold integer label indices, got dtype {top.dtype}")
    top = top.astype(np.int64, copy=False)
    if top.size and (top.min() < -1 or top.max() >= n_labels):
        raise ValueError(f"top must hold label indices in [0, {n_labels}) or -1 for padding")
    # A label twice in one ranking would be counted twice by every metric here.
    s = np.sort(top, axis=1)
    dup = (s[:, 1:] == s[:, :-1]) & (s[:, 1:] >= 0)
    if dup.any():
        doc, col = np.argwhere(dup)[0]
        raise ValueError(f"document {doc} has label index {s[doc, col + 1]} twice in its ranking")
    if top.shape[1] >= width:
        return top[:, :width]
    pad = np.full((n_docs, width - top.shape[1]), -1, dtype=np.int64)
    return np.hstack([top, pad])


def _relevance(true: sp.csr_matrix, top: np.ndarray) -> np.ndarray:
    """rel[i, r] = top[i, r] is a true label of document i (canonical ``true``, checked ``top``)."""
    n_docs, n_labels = true.shape
    if true.nnz == 0:
        return np.zeros(top.shape, dtype=bool)
    # Each (document, label) pair as one int64 key; canonical CSR keys are already sorted.
    rows = np.repeat(np.arange(n_docs, dtype=np.int64), np.diff(true.indptr))
    true_keys = rows * n_labels + true.indices
    query = np.arange(n_docs, dtype=np.int64)[:, None] * n_labels + top
    pos = np.minimum(np.searchsorted(true_keys, query), true_keys.size - 1)
    return (top >= 0) & (true_keys[pos] == query)


def relevance(true, top) -> np.ndarray:
    """Boolean (n_docs, K): whether the label at each rank of ``top`` is a true label.

    ``true``: sparse (n_docs, n_labels), non-zeros are the true labels.
    ``top``: int (n_docs, K) label indices, best first, -1 for "no prediction".
    """
    t = _canonical_true(true)
    top = np.asarray(top)
    width = top.shape[1] if top.ndim == 2 else 0
    return _relevance(t, _check_top(top, t.shape[0], t.shape[1], width))


def _best_q(true: sp.csr_matrix, q: np.ndarray, ks: tuple[int, ...]) -> list[np.ndarray]:
    """For each k: per document, the sum of the k largest q among the document's true labels."""
    rows = np.repeat(np.arange(true.shape[0], dtype=np.int64), np.diff(true.indptr))
    qt = q[true.indices]
    order = np.lexsort((-qt, rows))  # by document, then by q descending
    rank = np.arange(true.nnz) - true.indptr[rows]  # rows[order] == rows: grouping is kept
    qs = qt[order]
    return [np.bincount(rows[rank < k], weights=qs[rank < k], minlength=true.shape[0]) for k in ks]


def per_document(
    true, top, inv_ps: np.ndarray | None = None, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each metric as per-document (numerator, denominator) arrays: the metric is num.sum() / den.sum().

    For P@k and nDCG@k the denominator is 1 for every document (they are means); for
    PSP@k the numerator is the document's q-weighted hits in the top k and the
    denominator its best possible top-k sum (PSP@k is a ratio of sums). Resampling
    documents and re-summing gives the metric on the resample (``pipeline.compare``).
    Arguments as ``metrics_at_k``.
    """
    ks = _check_ks(ks)
    t = _canonical_true(true)
    n_docs, n_labels = t.shape
    if n_docs == 0:
        raise ValueError("there are no documents to evaluate")
    kmax = max(ks)
    top = _check_top(top, n_docs, n_labels, kmax)
    rel = _relevance(t, top)
    ones = np.ones(n_docs)

    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    hits = np.cumsum(rel, axis=1)  # hits[:, k-1] = hits in the top k
    for k in ks:
        out[f"P@{k}"] = (hits[:, k - 1] / k, ones)

    discount = 1.0 / np.log2(np.arange(2, kmax + 2))  # rank r -> 1 / log2(r + 1)
    dcg = np.cumsum(rel * discount, axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(discount)])  # ideal[m] = IDCG of m relevant ranks
    n_true = np.diff(t.indptr)
    for k in ks:
        idcg = ideal[np.minimum(n_true, k)]
        out[f"nDCG@{k}"] = (np.divide(dcg[:, k - 1], idcg, out=np.zeros(n_docs), where=idcg > 0), ones)  # |y| = 0 -> 0

    if inv_ps is not None:
        q = np.asarray(inv_ps, dtype=np.float64)
        if q.shape != (n_labels,):
            raise ValueError(f"inv_ps must have one value per label ({n_labels}), got shape {q.shape}")
        gained = np.cumsum(np.where(rel, q[np.maximum(top, 0)], 0.0), axis=1)
        for k, best in zip(ks, _best_q(t, q, ks)):
            out[f"PSP@{k}"] = (gained[:, k - 1], best)
    return out


def ratio(num: np.ndarray, den: np.ndarray) -> float:
    """num.sum() / den.sum(), 0 when the denominator is 0 (no true label anywhere; napkinXC gives nan).

    Capped at 1: for PSP@k the two sums add the same terms in other orders, so a perfect
    ranking may come out a hair above 1."""
    d = float(den.sum())
    return min(1.0, float(num.sum()) / d) if d > 0 else 0.0


def metrics_at_k(true, top, inv_ps: np.ndarray | None = None, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """P@k, nDCG@k and (given ``inv_ps``) PSP@k for each k in ``ks``, as plain floats.

    ``true``: scipy.sparse (or dense) (n_docs, n_labels); non-zeros are the true labels.
    ``top``: int array (n_docs, K) of label indices, best first, padded with -1; K may
    be smaller or larger than max(ks). A label twice in a row raises ValueError.
    ``inv_ps``: inverse propensity per label, length n_labels (see ``inverse_propensity``).

    Keys: "P@k" for each k, then "nDCG@k", then "PSP@k". Definitions: module docstring.
    """
    return {name: ratio(num, den) for name, (num, den) in per_document(true, top, inv_ps, ks).items()}


def _check_bins(bins) -> list[tuple[int, int | None]]:
    bins = [tuple(x) for x in bins]
    if not bins:
        raise ValueError("bins must name at least one (lo, hi) range of training frequency")
    for bn in bins:
        if len(bn) != 2:
            raise ValueError(f"a bin is (lo, hi) with hi None for no upper bound, got {bn!r}")
        lo, hi = bn
        if not isinstance(lo, (int, np.integer)) or lo < 0:
            raise ValueError(f"bin {bn!r}: lo must be an integer >= 0")
        if hi is not None and (not isinstance(hi, (int, np.integer)) or hi < lo):
            raise ValueError(f"bin {bn!r}: hi must be None or an integer >= lo")
    return bins


def _bin_name(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"{lo}+"
    return str(lo) if lo == hi else f"{lo}-{hi}"


def precision_by_frequency_at_k(true, top, label_counts: np.ndarray, bins=DEFAULT_BINS, k: int = 5) -> list[dict]:
    """P@k split by how often each label occurs in training (the tail-label view).

    For a bin [lo, hi] of training frequency (hi None = no upper bound):
    P@k counts only hits on labels with lo <= N_l <= hi and divides by k, averaged
    over all documents, exactly as P@k. So over disjoint bins that cover every
    frequency (include (0, 0) for labels unseen in training), the values sum to the
    overall P@k. ``test_occurrences`` is the number of (document, true label) pairs
    whose label falls in the bin.

    ``label_counts[l]`` is N_l, training documents with label l; ``true`` and ``top``
    as in ``metrics_at_k``. Returns one dict per bin, in the order given:
    {"bin": "6-20", "lo": 6, "hi": 20, "P@k": float, "test_occurrences": int}.
    """
    (k,) = _check_ks((k,))
    bins = _check_bins(bins)
    t = _canonical_true(true)
    n_docs, n_labels = t.shape
    if n_docs == 0:
        raise ValueError("there are no documents to evaluate")
    counts = np.asarray(label_counts)
    if counts.shape != (n_labels,):
        raise ValueError(f"label_counts must have one count per label ({n_labels}), got shape {counts.shape}")
    top = _check_top(top, n_docs, n_labels, k)
    rel = _relevance(t, top)
    hit_counts = counts[top[rel]]  # training frequency of every hit in the top k
    true_counts = counts[t.indices]  # ... and of every true label occurrence
    out = []
    for lo, hi in bins:  # a handful of bins, each a vectorised pass
        up = np.inf if hi is None else hi
        n_hits = np.count_nonzero((hit_counts >= lo) & (hit_counts <= up))
        n_occ = np.count_nonzero((true_counts >= lo) & (true_counts <= up))
        out.append(
            {
                "bin": _bin_name(lo, hi),
                "lo": int(lo),
                "hi": None if hi is None else int(hi),
                f"P@{k}": float(n_hits / (n_docs * k)),
                "test_occurrences": int(n_occ),
            }
        )
    return out


# --- label strings -> index arrays --------------------------------------------------------


def to_index_arrays(
    true: Sequence[Sequence[Hashable]],
    predicted: Sequence[Sequence[Hashable]],
    k: int,
    labels: Sequence[Hashable] = (),
) -> tuple[sp.csr_matrix, np.ndarray, list]:
    """Turn label lists into the core's index arrays.

    Returns ``(true_matrix, top, vocabulary)``: ``vocabulary`` lists ``labels`` first,
    then labels first seen in ``true``, then in ``predicted`` (each once);
    ``true_matrix`` is CSR (n_docs, len(vocabulary)) with a 1 per true label (a label
    repeated in a document's true list counts once); ``top`` is int64 (n_docs, k), the
    first k predictions of each document, padded with -1.

    Raises ValueError when the numbers of documents differ or a document's predicted
    list holds a label twice (a bug in the caller; it would be counted twice).
    """
    if len(true) != len(predicted):
        raise ValueError(f"true has {len(true)} documents but predicted has {len(predicted)}")
    (k,) = _check_ks((k,))
    n = len(true)
    t_flat = list(chain.from_iterable(true))
    p_flat = list(chain.from_iterable(predicted))
    vocab = list(dict.fromkeys(chain(labels, t_flat, p_flat)))
    index = dict(zip(vocab, range(len(vocab))))
    n_labels = len(vocab)

    t_len = np.fromiter(map(len, true), dtype=np.int64, count=n)
    t_idx = np.fromiter(map(index.__getitem__, t_flat), dtype=np.int64, count=len(t_flat))
    indptr = np.concatenate([[0], np.cumsum(t_len)])
    true_m = sp.csr_matrix((np.ones(t_idx.size), t_idx, indptr), shape=(n, n_labels))
    true_m.sum_duplicates()
    true_m.data[:] = 1.0

    p_len = np.fromiter(map(len, predicted), dtype=np.int64, count=n)
    p_idx = np.fromiter(map(index.__getitem__, p_flat), dtype=np.int64, count=len(p_flat))
    p_doc = np.repeat(np.arange(n, dtype=np.int64), p_len)
    keys = np.sort(p_doc * max(n_labels, 1) + p_idx)
    dup = np.flatnonzero(keys[1:] == keys[:-1])
    if dup.size:
        doc, lab = divmod(int(keys[dup[0]]), max(n_labels, 1))
        raise ValueError(f"document {doc}: predicted label {vocab[lab]!r} appears twice in the ranking")
    rank = np.arange(p_idx.size) - np.repeat(np.cumsum(p_len) - p_len, p_len)
    keep = rank < k
    top = np.full((n, k), -1, dtype=np.int64)
    top[p_doc[keep], rank[keep]] = p_idx[keep]
    return true_m, top, vocab


def _counts_for(vocab: list, train_counts: dict) -> np.ndarray:
    return np.fromiter(map(train_counts.get, vocab, repeat(0)), dtype=np.int64, count=len(vocab))


def evaluate(
    true: "list[list[str]]",
    predicted: "list[list[str]]",
    train_counts: "dict[str, int]",
    n_train: int,
    ks: Sequence[int] = DEFAULT_KS,
    a: float = PROPENSITY_A,
    b: float = PROPENSITY_B,
) -> dict[str, float]:
    """P@k, nDCG@k and PSP@k of ranked predictions against true label sets.

    ``true[i]``: the true labels of test document i. ``predicted[i]``: its ranked
    predictions, best first; may be shorter than k; a label twice raises ValueError.
    ``train_counts``: training documents per label (labels absent count 0);
    ``n_train``: number of training documents; ``a``, ``b``: propensity constants.

    Returns {"P@1": ..., "P@3": ..., "P@5": ..., "nDCG@1": ..., ..., "PSP@5": ...}
    for the given ks, plain floats in [0, 1]. Definitions and edge cases: module docstring.
    """
    return {
        name: ratio(num, den)
        for name, (num, den) in evaluate_per_document(true, predicted, train_counts, n_train, ks, a, b).items()
    }


def evaluate_per_document(
    true: "list[list[str]]",
    predicted: "list[list[str]]",
    train_counts: "dict[str, int]",
    n_train: int,
    ks: Sequence[int] = DEFAULT_KS,
    a: float = PROPENSITY_A,
    b: float = PROPENSITY_B,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``evaluate``'s metrics as per-document (numerator, denominator) arrays (see ``per_document``)."""
    ks = _check_ks(ks)
    true_m, top, vocab = to_index_arrays(true, predicted, max(ks), labels=())
    q = inverse_propensity(_counts_for(vocab, train_counts), n_train, a, b)
    return per_document(true_m, top, q, ks)


def precision_by_frequency(
    true: "list[list[str]]",
    predicted: "list[list[str]]",
    train_counts: "dict[str, int]",
    bins=DEFAULT_BINS,
    k: int = 5,
) -> list[dict]:
    """P@k counting only hits on labels whose training frequency lies in each bin.

    See ``precision_by_frequency_at_k`` for the definition and the returned dicts.
    Labels absent from ``train_counts`` have frequency 0: pass a (0, 0) bin to see them.
    """
    true_m, top, vocab = to_index_arrays(true, predicted, k)
    return precision_by_frequency_at_k(true_m, top, _counts_for(vocab, train_counts), bins, k)
