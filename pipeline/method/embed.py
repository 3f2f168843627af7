"""Word vectors (gensim word2vec, or pretrained) and the document vectors V_x of Eq. 1.

Eq. 1: V_x = sum_c Encode(x_c) / Len(x): the mean of the word vectors of the
truncated text. ``<pad>`` never counts, and neither does ``<unk>`` (it carries no
meaning of its own); a text with no known word gets the zero vector.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from pipeline.data.text import PAD, PAD_ID, UNK, UNK_ID, split_words
from pipeline.errors import ConfigError, DataError

log = logging.getLogger(__name__)


@dataclass
class Word2VecConfig:
    dim: int = 300
    window: int = 5
    min_count: int = 1  # on top of the vocabulary's own min count
    epochs: int = 10
    sg: bool = True  # skip-gram (True) or CBOW (False)
    negative: int = 5
    seed: int = 13
    workers: int = 1  # >1 is faster but not bit-for-bit reproducible

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Word2VecConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def sentences(tokens: pa.ListArray, vocab_tokens: np.ndarray) -> list[list[str]]:
    """Token-id lists -> word lists (what gensim consumes)."""
    tokens = tokens.combine_chunks() if isinstance(tokens, pa.ChunkedArray) else tokens
    words = vocab_tokens[pc.list_flatten(tokens).to_numpy()]
    offsets = tokens.offsets.to_numpy()
    return [w.tolist() for w in np.split(words, offsets[1:-1] - offsets[0])] if len(tokens) else []


def extra_sources(value, dataset: str, own_path: str | None = None) -> list[str]:
    """``embed.extra_text`` checked for ``dataset``: a list of sources (None: none).

    An entry is a built-in corpus name or a path. The corpus being trained and
    tested on is refused: its test texts would shape the word vectors.
    """
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(
            f"embed.extra_text must be a list of corpus names or paths; got {value!r} (a value for one dataset goes "
            "in that dataset's own section: rcv1-v2-subset: {embed: {extra_text: [reuters21578]}})"
        )
    for v in value:
        same_path = own_path is not None and Path(v).expanduser().resolve() == Path(own_path).expanduser().resolve()
        if v == dataset or same_path:
            raise ConfigError(
                f"embed.extra_text names the dataset being trained on ({v!r}): its test texts would leak into the word vectors"
            )
    return value


def vocab_sentences(texts: list[str], vocab_tokens: np.ndarray) -> list[list[str]]:
    """Extra texts as word2vec sentences, read through the dataset's vocabulary.

    Words the vocabulary lacks are dropped (not turned into ``<unk>``): they would
    get no row in the embedding anyway, and dropping them lets a corpus that keeps
    its stop words match one that has none. Texts left empty are dropped.
    """
    known = set(vocab_tokens.tolist()) - {PAD, UNK}
    return [s for s in ([w for w in words if w in known] for words in split_words(texts).to_pylist()) if s]


def train_word2vec(sents: list[list[str]], cfg: Word2VecConfig):
    """Train word2vec on the train split's sentences; returns gensim KeyedVectors."""
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec
    from tqdm import tqdm

    class _Progress(CallbackAny2Vec):
        def __init__(self):
            self.bar = tqdm(total=cfg.epochs, desc="word2vec", unit="epoch")

        def on_epoch_end(self, model):
            self.bar.update(1)

        def on_train_end(self, model):
            self.bar.close()

    logging.getLogger("gensim").setLevel(logging.WARNING)
    counts: dict[str, int] = {}
    for sent in sents:
        for w in sent:
            counts[w] = counts.get(w, 0) + 1
    if not any(c >= cfg.min_count for w, c in counts.items() if w not in (PAD, UNK)):
        raise DataError(
            f"word2vec has no word to learn: no word of the train split (and extra text) occurs embed.min_count "
            f"({cfg.min_count}) times outside <unk>; lower tokenise.min_count or embed.min_count, or check that the "
            "texts hold words"
        )
    model = Word2Vec(
        sentences=sents,
        callbacks=[_Progress()],
        vector_size=cfg.dim,
        window=cfg.window,
        min_count=cfg.min_count,
        sg=int(bool(cfg.sg)),
        negative=cfg.negative,
        epochs=cfg.epochs,
        seed=cfg.seed,
        workers=cfg.workers,
    )
    return model.wv


def load_pretrained(path: str | Path):
    """Word vectors in word2vec text or binary format (the format is detected)."""
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.exists():
        raise DataError("pretrained word vectors not found (embed.pretrained)", path)
    errors = []
    # Text first, whatever the suffix: the text reader rejects binary files at the first
    # vector, but the binary reader silently turns a text file into garbage vectors.
    for binary in (False, True):
        try:
            return KeyedVectors.load_word2vec_format(str(path), binary=binary, unicode_errors="replace")
        except Exception as exc:  # gensim raises ValueError/UnicodeDecodeError/EOFError...
            errors.append(f"{'binary' if binary else 'text'}: {exc}")
    raise DataError("not word2vec text or binary vectors (" + "; ".join(errors) + ")", path)


def embedding_matrix(vocab_tokens: np.ndarray, kv, seed: int = 13) -> tuple[np.ndarray, int]:
    """Rows aligned with the vocabulary: ``(matrix float32 [V, d], words without a vector)``.

    ``<pad>`` is the zero vector. A word without a vector (including ``<unk>``
    when the vectors do not have it) is drawn from N(0, s^2), s being the
    standard deviation of the vectors that were found, with a fixed seed.
    """
    dim = kv.vector_size
    idx = np.array([kv.key_to_index.get(w, -1) for w in vocab_tokens], dtype=np.int64)
    found = idx >= 0
    found[PAD_ID] = False
    mat = np.zeros((len(vocab_tokens), dim), dtype=np.float32)
    mat[found] = kv.vectors[idx[found]]
    scale = float(mat[found].std()) if found.any() else 0.1
    missing = ~found
    missing[PAD_ID] = False
    rng = np.random.default_rng(seed)
    mat[missing] = rng.normal(0.0, scale, size=(int(missing.sum()), dim)).astype(np.float32)
    return mat, int(missing.sum())


def doc_vectors(tokens: pa.ListArray, emb: np.ndarray) -> np.ndarray:
    """Eq. 1 for every document: mean of its word vectors (no ``<pad>``/``<unk>``)."""
    tokens = tokens.combine_chunks() if isinstance(tokens, pa.ChunkedArray) else tokens
    n = len(tokens)
    ids = pc.list_flatten(tokens).to_numpy().astype(np.int64)
    rows = pc.list_parent_indices(tokens).to_numpy()
    keep = (ids != PAD_ID) & (ids != UNK_ID)
    ids, rows = ids[keep], rows[keep]
    counts = np.bincount(rows, minlength=n).astype(np.float32)
    weights = 1.0 / counts[rows]
    m = sp.csr_matrix((weights, (rows, ids)), shape=(n, emb.shape[0]), dtype=np.float32)
    return np.asarray(m @ emb, dtype=np.float32)


def vectors_table(ids, vectors: np.ndarray) -> pa.Table:
    n, d = vectors.shape
    offsets = pa.array(np.arange(0, n * d + 1, d, dtype=np.int32))
    return pa.table(
        {"id": ids, "vector": pa.ListArray.from_arrays(offsets, pa.array(vectors.reshape(-1), pa.float32()))}
    )


def table_vectors(table: pa.Table) -> np.ndarray:
    col = table["vector"].combine_chunks()
    if len(col) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    return pc.list_flatten(col).to_numpy().reshape(len(col), -1).astype(np.float32, copy=False)
