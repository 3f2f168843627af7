"""What the bench scripts read: the train split as the `train` stage hands it to `pipeline.train.fit`,
and the kNN validation proxy of `tune_knn.py` and `tune_extra_text.py`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from pipeline import embed, hierarchy, metrics, neighbours, predict, teacher, tfidf
from pipeline.model import ModelConfig
from pipeline.text import padded
from pipeline.train import Examples, TrainConfig


def train_inputs(root: Path, p: dict) -> tuple[Examples, torch.Tensor, ModelConfig, TrainConfig, np.ndarray]:
    """Examples, word vectors, model and training settings, and the labels' inverse propensities of
    ``root`` (data/<dataset>) under the parameters ``p`` (its `teacher` and `reading` included)."""
    labels = pq.read_table(root / "prepared" / "labels.parquet")
    outputs = predict.target_labels(labels)
    docs = pq.read_table(root / "prepared" / "train.parquet")
    use_teacher = bool(p["teacher"])
    ex = predict.examples(pq.read_table(root / "tokens" / "train.parquet"),
                          pq.read_table(root / "teacher" / "train.parquet") if use_teacher else None, docs, outputs)
    emb = torch.from_numpy(np.load(root / "embed" / "embeddings.npy"))
    mcfg = ModelConfig.from_params(p["model"], root.name, vocab_size=emb.shape[0], n_labels=len(outputs),
                                   d_model=emb.shape[1], reading=p["reading"], teacher=use_teacher)
    counts = labels.filter(labels["train_count"].to_numpy() > 0)["train_count"].to_numpy()
    return ex, emb, mcfg, TrainConfig.from_params(p["train"], root.name), metrics.inverse_propensity(counts, len(docs))


def label_parents(root: Path) -> tuple[np.ndarray, bool]:
    """Each output label's output parent (-1: none) and whether the train label sets of ``root``
    hold every label's parent: what `evaluate.lift_parents: auto` looks at."""
    labels = pq.read_table(root / "prepared" / "labels.parquet")
    space = teacher.LabelSpace.from_table(labels)
    parents = predict.output_parents(space, predict.target_labels(labels))
    train_y = space.matrix(pq.read_table(root / "prepared" / "train.parquet")["labels"])
    return parents, hierarchy.closed_under_parents(train_y, space.parent_matrix())


class KnnValidation:
    """A validation split carved from ``root``'s train split (never test), and the kNN teacher ranking
    of its texts among the rest (k neighbours by cosine of the Eq. 1 vectors): how the bench scripts
    compare word vectors without training the network."""

    def __init__(self, root: Path, val_fraction: float = 0.2, seed: int = 13):
        self.tokens = pq.read_table(root / "tokens" / "train.parquet")["tokens"]
        docs = pq.read_table(root / "prepared" / "train.parquet")
        self.space = teacher.LabelSpace.from_table(pq.read_table(root / "prepared" / "labels.parquet"))
        self.words = np.array(pq.read_table(root / "tokens" / "vocab.parquet")["token"].to_pylist(), dtype=object)
        is_val = np.zeros(len(self.tokens), bool)
        is_val[np.random.default_rng(seed).permutation(len(is_val))[: int(val_fraction * len(is_val))]] = True
        self.fit, self.val = pa.array(np.flatnonzero(~is_val)), pa.array(np.flatnonzero(is_val))
        self.y_fit = self.space.matrix(docs["labels"].take(self.fit))
        self.y_val = self.space.matrix(docs["labels"].take(self.val))
        self.inv_ps = metrics.inverse_propensity(np.asarray(self.y_fit.sum(axis=0)).ravel(), len(self.fit))

    def fit_sentences(self) -> list[list[str]]:
        """The fit texts as word2vec reads them in the `embed` stage."""
        return embed.sentences(self.tokens.take(self.fit), self.words)

    def word2vec_scores(self, sentences: list[list[str]], cfg: embed.Word2VecConfig, ks: list[int]) -> tuple[float, dict[int, dict]]:
        """Train word2vec on ``sentences`` with ``cfg``: its seconds, and :meth:`scores` of its vectors."""
        start = time.perf_counter()
        kv = embed.train_word2vec(sentences, cfg)
        return time.perf_counter() - start, self.scores(kv, ks, cfg.seed)

    def scores(self, kv, ks: list[int], seed: int = 13) -> dict[int, dict]:
        """Validation metrics of the kNN ranking (top 10) for each k, with the word vectors ``kv``."""
        mat, _ = embed.embedding_matrix(self.words, kv, seed)
        vf, vv = embed.doc_vectors(self.tokens.take(self.fit), mat), embed.doc_vectors(self.tokens.take(self.val), mat)
        return self._ranked(*neighbours.exact_search(vv, vf, max(ks)), ks)

    def tfidf_scores(self, ks: list[int], cfg: tfidf.TfidfConfig = tfidf.TfidfConfig()) -> dict[int, dict]:
        """:meth:`scores` with texts compared by TF-IDF rows (`neighbours.vectors: tfidf`), idf fitted on the fit texts."""
        fit, val = (tfidf.counts(self.tokens.take(rows), len(self.words)) for rows in (self.fit, self.val))
        idf = tfidf.fit_idf(fit, cfg)
        return self._ranked(*neighbours.sparse_search(tfidf.transform(val, idf, cfg), tfidf.transform(fit, idf, cfg), max(ks)), ks)

    def _ranked(self, idx: np.ndarray, sims: np.ndarray, ks: list[int]) -> dict[int, dict]:
        out = {}
        for k in ks:
            labs, _ = teacher.rank_rows(teacher.knn_scores(idx[:, :k], sims[:, :k], self.y_fit), 10, np.arange(len(self.space)))
            out[k] = metrics.metrics_at_k(self.y_val, padded(labs, 10), self.inv_ps)
        return out
