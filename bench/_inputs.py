"""What the bench scripts read: the train split as the `train` stage hands it to `pipeline.engine.loop.fit`,
and the kNN validation proxy of `tune_knn.py` and `tune_extra_text.py`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
import yaml

from pipeline import settings
from pipeline.data import hierarchy, tfidf
from pipeline.data.text import padded
from pipeline.engine.config import TrainConfig
from pipeline.engine.examples import Examples, load_training_inputs, split_validation, target_labels
from pipeline.engine.predict import output_parents
from pipeline.io import read_table
from pipeline.method import embed, neighbours, teacher
from pipeline.method.model import ModelConfig
from pipeline.paths import Artifacts
from pipeline.report import metrics


def apply(p: dict, sets: list[str]) -> dict:
    """``p`` with each ``section.key=value`` of ``sets`` set (values read as YAML)."""
    for item in sets:
        key, _, value = item.partition("=")
        *path, last = key.split(".")
        node = p
        for part in path:
            node = node[part]
        node[last] = yaml.safe_load(value)
    return p


def bench_params(params: Path, dataset: str, sets: list[str], **top) -> dict:
    """params.yaml for ``dataset`` as the stages read it (the dataset's own values merged over the stage
    sections, ``settings.resolve``), then ``top`` (e.g. ``teacher=False``) and the ``--set`` overrides,
    which win over the dataset's values: ``--set train.members=3`` means 3 on every dataset."""
    return apply({**settings.resolve({**yaml.safe_load(params.read_text()), "dataset": dataset}), **top}, sets)


def train_inputs(root: Path, p: dict) -> tuple[Examples, torch.Tensor, ModelConfig, TrainConfig, np.ndarray]:
    """Examples, word vectors, model and training settings, and the labels' inverse propensities of
    ``root`` (data/<dataset>) under the parameters ``p`` (``bench_params``), read as the `train` stage reads them."""
    ev = p["evaluate"]
    inputs = load_training_inputs(
        Artifacts(root.parent, root.name),
        teacher=bool(p["teacher"]),
        propensity_a=ev["propensity_a"],
        propensity_b=ev["propensity_b"],
    )
    mcfg = inputs.model_config(p["model"], reading=p["reading"], teacher=bool(p["teacher"]))
    emb = torch.from_numpy(inputs.embeddings)
    return inputs.examples, emb, mcfg, TrainConfig.from_dict(p["train"]), inputs.inv_ps


def label_parents(root: Path) -> tuple[np.ndarray, bool]:
    """Each output label's output parent (-1: none) and whether the train label sets of ``root``
    hold every label's parent: what `evaluate.lift_parents: auto` looks at."""
    art = Artifacts(root.parent, root.name)
    labels = read_table(art.labels, "labels")
    space = teacher.LabelSpace.from_table(labels)
    parents = output_parents(space, target_labels(labels))
    train_y = space.matrix(read_table(art.documents("train"), "documents")["labels"])
    return parents, hierarchy.closed_under_parents(train_y, space.parent_matrix())


class KnnValidation:
    """A validation split carved from ``root``'s train split (never test), and the kNN teacher ranking
    of its texts among the rest (k neighbours by cosine of the Eq. 1 vectors): how the bench scripts
    compare word vectors without training the network."""

    def __init__(self, root: Path, val_fraction: float = 0.2, seed: int = 13):
        art = Artifacts(root.parent, root.name)
        self.tokens = read_table(art.tokens("train"), "tokens")["tokens"]
        docs = read_table(art.documents("train"), "documents")
        self.space = teacher.LabelSpace.from_table(read_table(art.labels, "labels"))
        self.words = np.array(read_table(art.vocab, "vocab")["token"].to_pylist(), dtype=object)
        fit, val = split_validation(len(self.tokens), val_fraction, seed)
        self.fit, self.val = pa.array(fit), pa.array(val)
        self.y_fit = self.space.matrix(docs["labels"].take(self.fit))
        self.y_val = self.space.matrix(docs["labels"].take(self.val))
        self.inv_ps = metrics.inverse_propensity(np.asarray(self.y_fit.sum(axis=0)).ravel(), len(self.fit))

    def fit_sentences(self) -> list[list[str]]:
        """The fit texts as word2vec reads them in the `embed` stage."""
        return embed.sentences(self.tokens.take(self.fit), self.words)

    def word2vec_scores(
        self, sentences: list[list[str]], cfg: embed.Word2VecConfig, ks: list[int]
    ) -> tuple[float, dict[int, dict]]:
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
        return self._ranked(
            *neighbours.sparse_search(tfidf.transform(val, idf, cfg), tfidf.transform(fit, idf, cfg), max(ks)), ks
        )

    def _ranked(self, idx: np.ndarray, sims: np.ndarray, ks: list[int]) -> dict[int, dict]:
        out = {}
        for k in ks:
            labs, _ = teacher.rank_rows(
                teacher.knn_scores(idx[:, :k], sims[:, :k], self.y_fit), 10, np.arange(len(self.space))
            )
            out[k] = metrics.metrics_at_k(self.y_val, padded(labs, 10), self.inv_ps)
        return out
