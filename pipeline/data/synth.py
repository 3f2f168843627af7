"""Synthetic corpora of the paper's shapes, in the `folder` dataset's raw-text layout.

The benchmark corpora (EURLex-4K, Wiki10-31K, AmazonCat-13K) cannot be downloaded everywhere; their
*shape* can be made: as many texts, labels and labels a text, texts as long, label frequencies as
skewed, and topic words per label, so that neighbour search, label trees and the teacher have
signal to find. ``write`` makes one, deterministically from a seed, vectorised in chunks of texts
(the full AmazonCat-13K shape, 1.5M texts, in minutes), into ``out``:

    train_texts.txt, train_labels.txt, test_texts.txt, test_labels.txt   (one text a line; labels space-separated)
    hierarchy.tsv             label<TAB>group: every label has one parent, a group of 25 labels
    label_descriptions.tsv    label<TAB>its three most characteristic words (groups: their two)
    synth.json                the shape, the seed and the statistics of what was written

How a text is made: its number of labels is 1 + Poisson(labels_per_doc - 1), drawn from power-law
label frequencies (p_l proportional to (rank + 10)^-1.1); its length is log-normal around
``words_per_doc``; each word is one of its labels' ten own words (probability 0.25), one of its
labels' group words (0.1), or a background word of a Zipfian vocabulary.

The statistics of the shapes are those the Extreme Classification Repository and AttentionXML
publish (texts, labels, mean labels a text, mean words a text); the vocabulary size is ours.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipeline.errors import ConfigError
from pipeline.io import atomic_dir

CHUNK = 20_000  # texts made at once; part of the definition (the output depends on it, not on memory)
OWN_WORDS, GROUP_WORDS, GROUP_SIZE = 10, 30, 25
P_OWN, P_GROUP = 0.25, 0.10


@dataclass(frozen=True)
class Shape:
    name: str
    train: int
    test: int
    labels: int
    labels_per_doc: float
    words_per_doc: float
    vocab: int


SHAPES = {
    "eurlex4k": Shape("eurlex4k", 15_449, 3_865, 3_956, 5.30, 1_248, 150_000),
    "wiki10-31k": Shape("wiki10-31k", 14_146, 6_616, 30_938, 18.64, 2_484, 200_000),
    "amazoncat13k": Shape("amazoncat13k", 1_186_239, 306_782, 13_330, 5.04, 246, 200_000),
}


def shape_of(name: str, train: int | None = None, test: int | None = None, labels: int | None = None) -> Shape:
    """A named shape, with any of its sizes replaced."""
    if name not in SHAPES:
        raise ConfigError(f"unknown shape {name!r}; shapes: {', '.join(SHAPES)}")
    over = {k: v for k, v in (("train", train), ("test", test), ("labels", labels)) if v is not None}
    for key, value in over.items():
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"--{key} must be a whole number >= 1; got {value!r}")
    return replace(SHAPES[name], **over)


def word(i: np.ndarray) -> np.ndarray:
    """Vocabulary index -> a lower-case word of letters (base 26, at least three letters): aaa, aab, ..."""
    i = np.asarray(i, dtype=np.int64) + 26 * 26  # every word at least three letters
    letters = []
    while True:
        letters.append(i % 26)
        i = i // 26
        if not i.any():
            break
    codes = np.stack(letters[::-1], axis=1) + ord("a")  # leading 'a's pad the shorter words
    return np.array(["".join(map(chr, row)).lstrip("a") or "a" for row in codes], dtype=object)


class _World:
    """What every text of a corpus draws from: label frequencies, groups, topic words, the vocabulary."""

    def __init__(self, shape: Shape, seed: int):
        rng = np.random.default_rng([seed, 0])
        n_labels, n_groups = shape.labels, math.ceil(shape.labels / GROUP_SIZE)
        width = len(str(n_labels - 1))
        self.label_names = np.array([f"l{i:0{width}d}" for i in range(n_labels)], dtype=object)
        self.group_names = np.array([f"g{i:0{len(str(n_groups - 1))}d}" for i in range(n_groups)], dtype=object)
        weights = (np.arange(n_labels) + 10.0) ** -1.1
        self.label_p = weights[rng.permutation(n_labels)]  # which label is frequent: drawn
        self.label_p /= self.label_p.sum()
        self.group_of = rng.permutation(np.arange(n_labels) % n_groups)
        self.words = word(np.arange(shape.vocab))
        background = (np.arange(shape.vocab) + 1.0) ** -1.05
        self.background_cdf = np.cumsum(background / background.sum())
        topical = np.arange(min(1_000, shape.vocab // 10), shape.vocab)  # topic words: not the commonest
        self.own = rng.choice(topical, size=(n_labels, OWN_WORDS))
        self.group_words = rng.choice(topical, size=(n_groups, GROUP_WORDS))
        self.shape = shape

    def texts(self, n: int, rng: np.random.Generator) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
        """``n`` texts and their label lines, with every (text, label) pair's label and each text's length."""
        s = self.shape
        k = 1 + rng.poisson(max(s.labels_per_doc - 1, 0.0), size=n)
        flat = rng.choice(len(self.label_names), size=int(k.sum()), p=self.label_p)
        starts = np.concatenate([[0], np.cumsum(k)[:-1]])
        sigma = 0.6
        length = np.maximum(1, rng.lognormal(math.log(s.words_per_doc) - sigma**2 / 2, sigma, size=n).astype(np.int64))
        doc = np.repeat(np.arange(n), length)
        kind = rng.random(len(doc))
        which = starts[doc] + (rng.random(len(doc)) * k[doc]).astype(np.int64)  # one of the text's labels
        label = flat[which]
        tokens = np.searchsorted(self.background_cdf, rng.random(len(doc)) * self.background_cdf[-1])
        own = kind < P_OWN
        tokens[own] = self.own[label[own], rng.integers(0, OWN_WORDS, own.sum())]
        grp = (kind >= P_OWN) & (kind < P_OWN + P_GROUP)
        tokens[grp] = self.group_words[self.group_of[label[grp]], rng.integers(0, GROUP_WORDS, grp.sum())]
        strings, ends = self.words[tokens], np.cumsum(length)
        texts = [" ".join(strings[a:b]) for a, b in zip(ends - length, ends)]
        n_all = len(self.label_names)
        pairs = np.unique(np.repeat(np.arange(n), k) * n_all + flat)  # a label once a text, in label order
        labels = pairs % n_all
        count = np.bincount(pairs // n_all, minlength=n)
        names, ends = self.label_names[labels], np.cumsum(count)
        label_lines = [" ".join(names[a:b]) for a, b in zip(ends - count, ends)]
        return texts, label_lines, labels, length


def write(out: str | Path, shape: Shape, seed: int = 13, progress: bool = True) -> dict:
    """Write a corpus of ``shape`` into the folder ``out`` (made afresh, atomically); return its statistics."""
    world = _World(shape, seed)
    stats: dict = {"shape": asdict(shape), "seed": seed}
    with atomic_dir(Path(out)) as tmp:
        for split_id, (split, n) in enumerate((("train", shape.train), ("test", shape.test))):
            used = np.zeros(shape.labels, dtype=bool)
            labels_sum = words_sum = 0
            chunks = range(0, n, CHUNK)
            bar = tqdm(chunks, desc=f"synth {shape.name} {split}", unit="chunk", disable=not progress)
            with (
                open(tmp / f"{split}_texts.txt", "w", encoding="utf-8") as ft,
                open(tmp / f"{split}_labels.txt", "w", encoding="utf-8") as fl,
            ):
                for c, start in enumerate(bar):
                    rng = np.random.default_rng([seed, 1 + split_id, c])
                    texts, label_lines, labels, length = world.texts(min(CHUNK, n - start), rng)
                    ft.write("\n".join(texts) + "\n")
                    fl.write("\n".join(label_lines) + "\n")
                    labels_sum, words_sum = labels_sum + len(labels), words_sum + int(length.sum())
                    used[labels] = True
            stats[split] = {"texts": n, "labels_per_text": labels_sum / n, "words_per_text": words_sum / n,
                            "labels_used": int(used.sum())}  # fmt: skip
        groups = world.group_names[world.group_of]
        (tmp / "hierarchy.tsv").write_text("".join(f"{c}\t{p}\n" for c, p in zip(world.label_names, groups)))
        desc = [f"{name}\t{' '.join(world.words[own[:3]])}\n" for name, own in zip(world.label_names, world.own)]
        desc += [f"{g}\t{' '.join(world.words[w[:2]])}\n" for g, w in zip(world.group_names, world.group_words)]
        (tmp / "label_descriptions.tsv").write_text("".join(desc), encoding="utf-8")
        (tmp / "synth.json").write_text(json.dumps(stats, indent=2) + "\n")
    return stats
