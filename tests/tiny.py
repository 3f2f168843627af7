"""Tiny, made-up corpora for the tests (and for examples/tiny): no real data needed."""

from __future__ import annotations

import json
import random
from pathlib import Path

TOPICS = {
    "football": ("sports", "goal striker match league penalty referee stadium keeper"),
    "tennis": ("sports", "serve racket set match court wimbledon volley ace"),
    "fruit": ("food", "apple banana orange harvest sweet juice orchard ripe"),
    "baking": ("food", "bread oven flour dough cake yeast sugar bake"),
    "software": ("tech", "code compiler bug release python server deploy test"),
    "hardware": ("tech", "chip memory board cpu voltage fan laptop screen"),
}
DESCRIPTIONS = {
    "football": "Association Football",
    "tennis": "Lawn Tennis",
    "fruit": "Fresh Fruit",
    "baking": "Bread and Baking",
    "software": "Computer Software",
    "hardware": "Computer Hardware",
    "sports": "Sports",
    "food": "Food and Drink",
    "tech": "Technology",
}
FILLER = "the a of and in to said on for with today new report".split()


def make_docs(n: int, seed: int, prefix: str) -> list[dict]:
    rng = random.Random(seed)
    labels = sorted(TOPICS)
    docs = []
    for i in range(n):
        k = 1 if rng.random() < 0.7 else 2
        labs = rng.sample(labels, k)
        words = []
        for lab in labs:
            words += rng.choices(TOPICS[lab][1].split(), k=rng.randint(6, 14))
        words += rng.choices(FILLER, k=rng.randint(3, 8))
        rng.shuffle(words)
        docs.append({"id": f"{prefix}{i}", "text": " ".join(words).capitalize() + ".", "labels": labs})
    return docs


def write_folder_dataset(path: Path, n_train: int = 60, n_test: int = 20, seed: int = 0, layout: str = "jsonl") -> Path:
    """Write a tiny dataset in the `folder` layout (jsonl or xmlrepo), with hierarchy and descriptions."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    splits = {"train": make_docs(n_train, seed, "tr"), "test": make_docs(n_test, seed + 1, "te")}
    for name, docs in splits.items():
        if layout == "jsonl":
            (path / f"{name}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
        else:
            (path / f"{name}_texts.txt").write_text("".join(d["text"] + "\n" for d in docs))
            (path / f"{name}_labels.txt").write_text("".join(" ".join(d["labels"]) + "\n" for d in docs))
    (path / "hierarchy.tsv").write_text("".join(f"{c}\t{p}\n" for c, (p, _) in sorted(TOPICS.items())))
    (path / "label_descriptions.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in sorted(DESCRIPTIONS.items())))
    return path


if __name__ == "__main__":  # regenerate examples/tiny
    write_folder_dataset(Path(__file__).resolve().parent.parent / "examples" / "tiny")
