"""TF-IDF features of the tokenised splits, fitted on train only (the peers' input).

Token ids come from the `tokenise` stage: 0 is <pad> and 1 is <unk>; neither is a
feature. The weighting is the usual one: (1 + ln tf) when ``sublinear_tf``, times
idf = ln((1 + N) / (1 + df)) + 1 with df counted on the N train texts, then each
row scaled to unit L2 norm. Words whose train df is below ``min_df`` are dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from pipeline.errors import ConfigError

FIRST_WORD = 2  # ids below are <pad> and <unk>


@dataclass(frozen=True)
class TfidfConfig:
    sublinear_tf: bool = True
    min_df: int = 1
    norm: bool = True

    @classmethod
    def from_dict(cls, d: dict) -> "TfidfConfig":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(
                f"unknown tfidf parameter(s) {sorted(unknown)}; valid: {sorted(cls.__dataclass_fields__)}"
            )
        cfg = cls(**d)
        if cfg.min_df < 1:
            raise ConfigError(f"tfidf.min_df must be >= 1, got {cfg.min_df}")
        return cfg

    def to_dict(self) -> dict:
        return asdict(self)


def counts(tokens: pa.ListArray | pa.ChunkedArray, n_features: int) -> sp.csr_matrix:
    """Term counts (n_texts, n_features) from token-id lists; <pad> and <unk> are not counted."""
    if isinstance(tokens, pa.ChunkedArray):
        tokens = tokens.combine_chunks()
    offsets = tokens.offsets.to_numpy()
    ids = tokens.values.to_numpy(zero_copy_only=False).astype(np.int64)
    rows = np.repeat(np.arange(len(tokens)), np.diff(offsets))
    keep = ids >= FIRST_WORD
    if keep.any() and ids[keep].max() >= n_features:
        raise ValueError(f"token id {ids[keep].max()} outside a vocabulary of {n_features}")
    m = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (rows[keep], ids[keep])), shape=(len(tokens), n_features))
    m.sum_duplicates()
    return m


def fit_idf(train_counts: sp.csr_matrix, cfg: TfidfConfig) -> np.ndarray:
    """Smoothed idf per feature from the train counts; 0 for features below ``min_df`` (dropped)."""
    n = train_counts.shape[0]
    df = np.bincount(train_counts.indices, minlength=train_counts.shape[1])
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    idf[df < cfg.min_df] = 0.0
    idf[:FIRST_WORD] = 0.0
    return idf.astype(np.float32)


def transform(c: sp.csr_matrix, idf: np.ndarray, cfg: TfidfConfig) -> sp.csr_matrix:
    """TF-IDF rows (unit L2 norm when ``cfg.norm``); a text with no known word is an all-zero row."""
    x = c.astype(np.float32, copy=True)
    if cfg.sublinear_tf:
        x.data = 1.0 + np.log(x.data)
    x = sp.csr_matrix(x.multiply(idf[None, :]))
    x.eliminate_zeros()
    if cfg.norm:
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        x = sp.csr_matrix(sp.diags(1.0 / norms) @ x)
    x.sort_indices()
    return x.astype(np.float32)
