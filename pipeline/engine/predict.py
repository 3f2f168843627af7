"""A trained model as a directory, and prediction for new texts with it.

``models/<dataset>/`` holds everything prediction needs, so it can be copied
anywhere and used without the pipeline's other artifacts:

    model.pt             the network's weights (member 0 of an ensemble)
    model-member<m>.pt   the weights of ensemble member m = 1 .. members - 1 (config.json: train.members)
    config.json          model, training, tokenisation, neighbour and teacher settings; history
    vocab.parquet        the vocabulary (tokenise)
    labels.parquet       the label table (prepare): the model's outputs are its labels with train_count > 0
    label_tokens.parquet the tokenised label descriptions (tokenise)
    embeddings.npy       the word vectors used for document vectors (embed, Eq. 1)
    train_docs.parquet   train ids, labels and document vectors (the neighbours' side)
    index.ann            the Annoy index over those vectors (annoy backend only)
    tfidf_idf.npy        with `neighbours.vectors: tfidf`: the idf the tfidf stage fitted on train
    tfidf_train.npz      ... and the train texts' TF-IDF rows (the neighbours' side)

New texts go through exactly the stages' code: tokenise -> Eq. 1 (or TF-IDF) -> neighbours among the
training texts -> teacher set, vote shares and sequence (Algorithm 1) -> the network (the mean
of the members' probabilities for an ensemble) -> top-k labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp
import torch
from tqdm import tqdm

from pipeline.data import hierarchy, text, tfidf
from pipeline.engine.bundle import BUNDLE_FILES, TFIDF_FILES, member_file, neighbour_vectors
from pipeline.engine.device import resolve_device
from pipeline.engine.examples import Examples, make_examples, target_labels
from pipeline.engine.infer import ensemble_logits, top_k
from pipeline.errors import ConfigError, DataError, TreaderError
from pipeline.io import read_table
from pipeline.method import embed, neighbours, teacher
from pipeline.method.model import ModelConfig, TReaderXML


@dataclass
class Prediction:
    labels: list[str]
    scores: list[float]
    known_words: int = -1  # words of the text in the model's vocabulary (0: the labels say nothing of the text)


def output_parents(space: teacher.LabelSpace, outputs: pa.Array) -> np.ndarray:
    """For each output label, the output column of its parent; -1 for a root or a parent that is not an output."""
    parent = space.parent_of[pc.index_in(outputs, value_set=space.labels).to_numpy()]
    names = pc.take(space.labels, pa.array(np.where(parent >= 0, parent, 0)))
    return np.where(parent >= 0, pc.fill_null(pc.index_in(names, value_set=outputs), -1).to_numpy(), -1)


def lift_mode(value) -> str:
    """`evaluate.lift_parents` / `--lift-parents`: auto | on | off (YAML true/false read as on/off)."""
    mode = ("on" if value else "off") if isinstance(value, bool) else str(value).lower()
    if mode not in ("auto", "on", "off"):
        raise ConfigError(f"lift_parents must be auto, on or off (true/false); got {value!r}")
    return mode


def lifts(mode: str, output_parent: np.ndarray, closed: bool) -> bool:
    """Whether the ranking lifts scores to descendants: some output has an output parent, and the
    mode (``lift_mode``) is on, or auto with train label sets closed under parents."""
    return bool((output_parent >= 0).any()) and (mode == "on" or (mode == "auto" and closed))


def _read(path: Path, read, what: str | None = None):
    """``read(path)``, with any failure to read a model file turned into one line naming it (``what`` the
    file should be, in place of the library's own words where those mislead)."""
    try:
        return read(path)
    except TreaderError:
        raise
    except Exception as exc:  # a truncated, corrupt or foreign file: torch, pickle, Arrow, numpy, JSON errors
        why = what or (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DataError(
            f"cannot read this model file ({type(exc).__name__}: {why}); copy the model directory again "
            "or rerun `dvc repro train`",
            path,
        ) from None


def _config(config) -> dict:
    """config.json, checked for the sections prediction reads."""
    need = ("model", "train", "data", "neighbours", "teacher_set")
    if not isinstance(config, dict) or any(not isinstance(config.get(k), dict) for k in need):
        raise ValueError(f"a model's config.json is a JSON object with the sections {', '.join(need)}")
    return config


def _train_side(path: Path, space: teacher.LabelSpace) -> tuple[sp.csr_matrix, np.ndarray]:
    """The training texts' label matrix and document vectors: the neighbours' side of the search."""
    docs = pq.read_table(path)
    return space.matrix(docs["labels"]), embed.table_vectors(docs)


def _matrix(vectors, rows: int) -> np.ndarray:
    """The word vectors, checked against the vocabulary they belong to."""
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or vectors.shape[0] != rows:
        shape = getattr(vectors, "shape", None)
        raise ValueError(f"word vectors of shape {shape} for a vocabulary of {rows} words")
    return vectors


class Predictor:
    """Load with ``Predictor.load(models/<dataset>)``; then ``predict(texts, k)``.

    ``lift_parents``: raise each label's score to its best descendant's (``hierarchy.lift_to_descendants``):
    ``on``, ``off``, or ``auto``, which lifts when every training text's label set holds the
    parents of its labels (RCV1's do; then a parent is at least as likely as its child).
    """

    def __init__(self, model_dir: str | Path, device: str = "auto", lift_parents="auto"):
        d = Path(model_dir)
        if not (d / "config.json").exists():
            raise DataError("not a trained model directory (no config.json); run `dvc repro train`", d)
        self.config = _read(d / "config.json", lambda f: _config(json.loads(f.read_text(encoding="utf-8"))))
        n = int(self.config.get("train", {}).get("members", 1))
        self.vectors = neighbour_vectors(self.config)
        if self.vectors is not None:
            neighbours.check_vectors(self.vectors)
        needed = (*BUNDLE_FILES, *map(member_file, range(1, n)), *(TFIDF_FILES if self.vectors == "tfidf" else ()))
        missing = [f for f in needed if not (d / f).exists()]
        if missing:
            size = f" (an ensemble of {n})" if n > 1 else ""
            raise DataError(
                f"incomplete model directory{size}, missing {', '.join(missing)}; copy it again or rerun `dvc repro train`",
                d,
            )
        self.device = resolve_device(device)
        model_cfg = _read(d / "config.json", lambda f: ModelConfig.from_dict(self.config["model"]))
        self.models = []
        for m in range(n):
            net = TReaderXML(model_cfg)
            path = d / member_file(m)
            load = lambda f, net=net: net.load_state_dict(torch.load(f, map_location=self.device, weights_only=True))  # noqa: E731
            _read(path, load, "not a whole PyTorch state dict of this network")
            self.models.append(net.to(self.device).eval())
        self.model = self.models[0]  # the architecture (``.cfg``) every member shares
        self.vocab = _read(d / "vocab.parquet", lambda f: text.Vocab.from_table(read_table(f, "vocab")))
        labels = _read(d / "labels.parquet", lambda f: read_table(f, "labels"))
        self.space = teacher.LabelSpace.from_table(labels)
        self.outputs = target_labels(labels)
        self.word_vectors = _read(d / "embeddings.npy", lambda f: _matrix(np.load(f), len(self.vocab.tokens)))
        self.train_y, self.train_vectors = _read(d / "train_docs.parquet", lambda f: _train_side(f, self.space))
        lt = _read(d / "label_tokens.parquet", lambda f: read_table(f, "label_tokens"))
        self.desc_tokens = pc.take(
            lt["tokens"].combine_chunks(), pc.index_in(self.space.labels, value_set=lt["label"].combine_chunks())
        )
        self.output_parent = output_parents(self.space, self.outputs)
        mode = lift_mode(lift_parents)
        self.closed = hierarchy.closed_under_parents(self.train_y, self.space.parent_matrix())
        self.lift = lifts(mode, self.output_parent, self.closed)
        self.index = None
        nb = self.config["neighbours"]
        if self.vectors == "word2vec" and nb["backend"] == "annoy" and (d / "index.ann").exists():
            dim = self.train_vectors.shape[1]
            self.index = _read(d / "index.ann", lambda f: neighbours.AnnoyIndex.load(f, dim))
        if self.vectors == "tfidf":
            idf = _read(d / "tfidf_idf.npy", np.load)
            self.tfidf = (idf, tfidf.TfidfConfig.from_dict(self.config["tfidf"]))
            self.train_tfidf = _read(d / "tfidf_train.npz", lambda f: sp.load_npz(f).tocsr())

    @classmethod
    def load(cls, model_dir: str | Path, device: str = "auto", lift_parents="auto") -> "Predictor":
        return cls(model_dir, device, lift_parents)

    def logits(self, data: Examples, progress: bool = False) -> np.ndarray:
        """The network's logits for ``data`` (an ensemble: the logit of its members' mean probability), before ``finish``."""
        return ensemble_logits(self.models, data, self.device, progress=progress)

    def finish(self, logits: np.ndarray) -> np.ndarray:
        """The network's logits as the ranking uses them: lifted to descendants when ``self.lift``."""
        return hierarchy.lift_to_descendants(logits, self.output_parent) if self.lift else logits

    def text_vectors(self, tokens: pa.ListArray) -> np.ndarray | sp.csr_matrix:
        """What the neighbour search compares: Eq. 1 vectors, or TF-IDF rows (``neighbours.vectors``)."""
        if self.vectors == "tfidf":
            idf, cfg = self.tfidf
            return tfidf.transform(tfidf.counts(tokens, len(idf)), idf, cfg)
        return embed.doc_vectors(tokens, self.word_vectors)

    def teacher_table(self, ids: pa.Array, vectors: np.ndarray | sp.csr_matrix) -> pa.Table:
        """The teacher stage's columns for new texts: labels, vote shares and token sequence."""
        nb, ts = self.config["neighbours"], self.config["teacher_set"]
        if sp.issparse(vectors):
            idx, sims = neighbours.sparse_search(vectors, self.train_tfidf, nb["k"])
        elif self.index is not None:
            idx, sims = neighbours.annoy_search(self.index, vectors, nb["k"], nb["search_k"])
        else:
            idx, sims = neighbours.exact_search(vectors, self.train_vectors, nb["k"])
        cols, _ = teacher.teacher_columns(
            idx,
            sims,
            self.train_y,
            self.space,
            self.desc_tokens,
            parents=ts["parents"],
            mode=ts["mode"],
            max_labels=ts["max_labels"],
            max_len=ts["max_len"],
        )
        return pa.table({"id": ids, **cols})

    def predict(self, texts: list[str], k: int = 5, batch: int = 256, progress: bool = False) -> list[Prediction]:
        out: list[Prediction] = []
        for start in tqdm(range(0, len(texts), batch), desc="predict", disable=not progress, unit="batch"):
            chunk = texts[start : start + batch]
            tokens = text.tokenise(chunk, self.vocab, self.config["data"]["max_words"])
            tok_table = pa.table({"id": [str(i) for i in range(len(chunk))], "tokens": tokens})
            teach = None
            if self.model.cfg.teacher:
                teach = self.teacher_table(tok_table["id"], self.text_vectors(tokens))
            data = make_examples(tok_table, teach, None, self.outputs)
            idx, scores = top_k(self.finish(self.logits(data)), k)
            names = np.asarray(self.outputs.to_pylist(), dtype=object)
            known = text.known_counts(tokens)
            out += [
                Prediction(names[i].tolist(), np.round(s.astype(float), 6).tolist(), int(n))
                for i, s, n in zip(idx, scores, known)
            ]
        return out
