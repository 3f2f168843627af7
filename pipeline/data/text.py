"""Tokenisation, vocabulary and truncation, vectorised with pyarrow compute and numpy.

Words are maximal runs of Unicode letters and digits, lower-cased: ``"U.S.
dollar's 5.93%"`` -> ``["u", "s", "dollar", "s", "5", "93"]``. No per-token
Python loop touches a whole corpus.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import DataError

log = logging.getLogger(__name__)

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
_SEPARATORS = r"[^\p{L}\p{N}]+"


def _array(x) -> pa.Array:
    if isinstance(x, pa.ChunkedArray):
        return x.combine_chunks()
    if isinstance(x, pa.Array):
        return x
    return pa.array(x, type=pa.string())


def split_words(texts) -> pa.ListArray:
    """Lower-cased word tokens of each text, as ``list<string>``."""
    texts = _array(texts).cast(pa.string()).fill_null("")
    parts = pc.split_pattern_regex(pc.utf8_lower(texts), _SEPARATORS)
    flat = pc.list_flatten(parts)
    parent = pc.list_parent_indices(parts)
    keep = pc.greater(pc.utf8_length(flat), 0)
    flat, parent = flat.filter(keep), parent.filter(keep)
    return lists_from_parents(flat, parent.to_numpy(), len(texts))


def lists_from_parents(values, parent: np.ndarray, n: int) -> pa.ListArray:
    """``n`` lists from flat ``values`` and the (non-decreasing) list index of each value."""
    counts = np.bincount(parent, minlength=n) if len(parent) else np.zeros(n, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)


def padded(lists, width: int, fill=-1, dtype=np.int64) -> np.ndarray:
    """Lists -> array (n, width) of ``dtype``, each row cut or padded with ``fill``."""
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    out = np.full((len(lists), width), fill, dtype=dtype)
    rows = pc.list_parent_indices(lists).to_numpy()
    offsets = lists.offsets.to_numpy()
    pos = np.arange(len(rows)) - (offsets[rows] - offsets[0])
    keep = pos < width
    out[rows[keep], pos[keep]] = pc.list_flatten(lists).to_numpy()[keep]
    return out


def truncate(lists: pa.ListArray, max_len: int) -> pa.ListArray:
    """Keep the first ``max_len`` items of each list."""
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    return pc.list_slice(_array(lists), 0, max_len)


@dataclass(frozen=True)
class Vocab:
    tokens: pa.Array  # string; position = id
    counts: pa.Array  # int64 train counts

    def __len__(self) -> int:
        return len(self.tokens)

    def table(self) -> pa.Table:
        return pa.table(
            {"id": pa.array(np.arange(len(self), dtype=np.int32)), "token": self.tokens, "count": self.counts}
        )

    @classmethod
    def from_table(cls, table: pa.Table) -> "Vocab":
        ids = table["id"].to_numpy()
        if (
            not np.array_equal(ids, np.arange(len(ids)))
            or table["token"][0].as_py() != PAD
            or table["token"][1].as_py() != UNK
        ):
            raise ValueError("vocabulary table must have ids 0..n-1 with <pad>=0 and <unk>=1")
        return cls(_array(table["token"]), _array(table["count"]))


def build_vocab(train_words: pa.ListArray, min_count: int = 1, max_size: int | None = None, extra_words=None) -> Vocab:
    """Vocabulary from the train split only, most frequent first (ties by spelling).

    Words seen fewer than ``min_count`` times are left out (they become ``<unk>``),
    and at most ``max_size`` words are kept. ``extra_words`` (e.g. the words of
    the label descriptions) are always added, with their train count.
    """
    flat = pc.list_flatten(_array(train_words))
    vc = (
        pc.value_counts(flat)
        if len(flat)
        else pa.StructArray.from_arrays([pa.array([], pa.string()), pa.array([], pa.int64())], ["values", "counts"])
    )
    table = pa.table({"token": vc.field("values"), "count": vc.field("counts")})
    table = table.sort_by([("count", "descending"), ("token", "ascending")])
    kept = table.filter(pc.greater_equal(table["count"], min_count))
    if max_size is not None:
        kept = kept.slice(0, max_size)
    if extra_words is not None:
        extra = pc.unique(pc.list_flatten(_array(extra_words)))
        missing = extra.filter(pc.invert(pc.is_in(extra, value_set=kept["token"])))
        if len(missing):
            idx = pc.index_in(missing, value_set=table["token"])
            counts = pc.fill_null(pc.take(table["count"], idx), 0)
            add = pa.table({"token": missing, "count": counts}).sort_by(
                [("count", "descending"), ("token", "ascending")]
            )
            kept = pa.concat_tables([kept, add])
    tokens = pa.concat_arrays([pa.array([PAD, UNK]), _array(kept["token"])])
    counts = pa.concat_arrays([pa.array([0, 0], pa.int64()), _array(kept["count"]).cast(pa.int64())])
    return Vocab(tokens, counts)


def encode(words: pa.ListArray, vocab: Vocab) -> pa.ListArray:
    """Map word lists to int32 id lists (unknown words -> ``<unk>``)."""
    words = _array(words)
    flat = pc.list_flatten(words)
    ids = pc.fill_null(pc.index_in(flat, value_set=vocab.tokens), UNK_ID).cast(pa.int32())
    return lists_from_parents(ids, pc.list_parent_indices(words).to_numpy(), len(words))


def tokenise(texts, vocab: Vocab, max_len: int) -> pa.ListArray:
    """Texts -> truncated int32 id lists, as used for new texts at prediction time."""
    return encode(truncate(split_words(texts), max_len), vocab)


def tokenise_corpus(
    train: pa.Table,
    test: pa.Table,
    labels: pa.Table,
    *,
    max_words: int,
    label_max_words: int,
    min_count: int = 1,
    max_vocab: int | None = None,
) -> tuple[dict[str, pa.Table], dict]:
    """Tokenise a prepared corpus: returns the ``tokens`` stage's tables and its stats.

    Texts are truncated to ``max_words`` words and label descriptions to
    ``label_max_words`` before the vocabulary is counted (on train only), so the
    vocabulary holds exactly what the model can see.
    """
    words = {name: truncate(split_words(t["text"]), max_words) for name, t in (("train", train), ("test", test))}
    full_len = {
        name: pc.list_value_length(split_words(t["text"])).to_numpy() for name, t in (("train", train), ("test", test))
    }
    label_words = truncate(split_words(labels["description"]), label_max_words)
    vocab = build_vocab(words["train"], min_count, max_vocab, extra_words=label_words)
    out = {"vocab": vocab.table(), "labels": pa.table({"label": labels["label"], "tokens": encode(label_words, vocab)})}
    stats: dict = {"vocab_size": len(vocab), "max_words": max_words, "label_max_words": label_max_words, "splits": {}}
    for name, t in (("train", train), ("test", test)):
        ids = encode(words[name], vocab)
        out[name] = pa.table({"id": t["id"], "tokens": ids})
        flat = pc.list_flatten(ids).to_numpy()
        lengths = pc.list_value_length(ids).to_numpy()
        stats["splits"][name] = {
            "documents": len(t),
            "mean_tokens": round(float(lengths.mean()), 2) if len(lengths) else 0.0,
            "max_tokens": int(lengths.max()) if len(lengths) else 0,
            "truncated_fraction": round(float((full_len[name] > max_words).mean()), 4) if len(lengths) else 0.0,
            "empty_after_tokenising": int((lengths == 0).sum()),
            "without_known_word": int((known_counts(ids) == 0).sum()),
            "unk_rate": round(float((flat == UNK_ID).mean()), 4) if len(flat) else 0.0,
        }
        blind = stats["splits"][name]["without_known_word"]
        if blind == len(t) and name == "train":
            raise DataError(
                f"no train text has a word of the vocabulary (all {len(t)} are empty after tokenising, or hold only "
                f"words seen fewer than tokenise.min_count ({min_count}) times); check the texts or lower the setting"
            )
        if blind:
            log.warning(
                "%s: %d of %d text(s) have no word of the vocabulary (%d with no word at all): the network reads "
                "only their teacher set, and their neighbours are arbitrary",
                name, blind, len(t), stats["splits"][name]["empty_after_tokenising"],
            )  # fmt: skip
    return out, stats


def known_counts(ids: pa.ListArray | pa.ChunkedArray) -> np.ndarray:
    """For each token-id list, how many of its words the vocabulary knows (not <pad>, not <unk>)."""
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    known = pc.greater(pc.list_flatten(ids), UNK_ID).cast(pa.int64()).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(ids).to_numpy()
    return np.bincount(parents, weights=known, minlength=len(ids)).astype(np.int64)
