"""Is one ranking of a test set really better than another? A paired bootstrap over documents.

Two methods scored on the same test documents differ by a few points of P@1; on
3,000 documents that can be chance. ``paired_bootstrap`` resamples the documents
with replacement (the same resample for both methods, so what they share cancels),
recomputes each metric on every resample from its per-document parts
(``metrics.per_document``: P@k and nDCG@k are means, PSP@k a ratio of sums), and
reports the difference with a percentile interval and a two-sided p-value (twice
the share of resamples on the far side of zero; Koehn 2004, Efron & Tibshirani 1993).

This measures only the test sample's noise, not the training run's (another seed
gives another model): a difference can be significant here and still vanish over
seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.errors import DataError
from pipeline.report.metrics import ratio

Parts = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Difference:
    metric: str
    a: float
    b: float
    low: float  # percentile interval of a - b
    high: float
    p: float  # two-sided: the chance of a difference this far from zero if the methods were equal
    a_wins: float  # share of resamples where a > b

    @property
    def diff(self) -> float:
        return self.a - self.b


def paired_bootstrap(
    a: Parts, b: Parts, resamples: int = 10_000, seed: int = 0, level: float = 0.95, batch: int = 500
) -> list[Difference]:
    """Compare per-document metric parts of two methods on the same documents, metric by metric.

    ``a``, ``b``: {metric: (numerator, denominator)} with one entry per document, in the
    same document order (``metrics.evaluate_per_document``); metrics present in both are
    compared, in ``a``'s order. Deterministic for a given ``seed``.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    names = [m for m in a if m in b]
    if not names:
        raise ValueError("the two methods share no metric")
    n = len(a[names[0]][0])
    for m in names:
        for parts in (a[m], b[m]):
            if len(parts[0]) != n or len(parts[1]) != n:
                raise ValueError(f"{m}: both methods need one value per document ({n})")
    if n == 0:
        raise ValueError("there are no documents to compare")
    rng = np.random.default_rng(seed)
    # stack every metric's numerators and denominators: one (n, 4 * metrics) matrix, one product per batch
    cols = np.column_stack([x for m in names for x in (*a[m], *b[m])])
    sums = []
    for start in range(0, resamples, batch):
        w = rng.multinomial(n, np.full(n, 1.0 / n), size=min(batch, resamples - start)).astype(np.float64)
        sums.append(w @ cols)  # each row: the resample's sums, as if its documents were listed
    s = np.vstack(sums).reshape(resamples, len(names), 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        ra = np.where(s[..., 1] > 0, s[..., 0] / s[..., 1], 0.0)
        rb = np.where(s[..., 3] > 0, s[..., 2] / s[..., 3], 0.0)
    d = ra - rb
    tail = (1 - level) / 2
    out = []
    for i, m in enumerate(names):
        di = d[:, i]
        p = min(1.0, 2 * min(np.mean(di <= 0), np.mean(di >= 0)))
        out.append(
            Difference(
                m,
                ratio(*a[m]),
                ratio(*b[m]),
                float(np.quantile(di, tail)),
                float(np.quantile(di, 1 - tail)),
                float(p),
                float(np.mean(di > 0)),
            )
        )
    return out


def align(ids_a: list[str], ids_b: list[str], truth_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of ``truth_ids`` in each prediction file: both must hold exactly the test documents."""
    rows = []
    for name, ids in (("first", ids_a), ("second", ids_b)):
        pos = {d: i for i, d in enumerate(ids)}
        if len(pos) != len(ids):
            raise DataError(f"the {name} predictions list a document twice")
        missing = [d for d in truth_ids if d not in pos]
        extra = len(pos) - (len(truth_ids) - len(missing))
        if missing or extra:
            raise DataError(
                f"the {name} predictions do not cover the test split: {len(missing)} test documents "
                f"missing (e.g. {missing[:3]}), {extra} unknown documents"
            )
        rows.append(np.fromiter((pos[d] for d in truth_ids), dtype=np.int64, count=len(truth_ids)))
    return rows[0], rows[1]
