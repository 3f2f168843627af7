"""Choose the embed/neighbour defaults on a validation split carved from train (never test).

    python bench/tune_knn.py --dataset reuters21578

Needs the `tokenise` artifacts of the dataset (`dvc repro tokenise`). For each word2vec
setting it trains on train-minus-validation, then scores the kNN teacher ranking of the
validation texts (neighbours searched among train-minus-validation) for several k.
With ``--tfidf`` it first scores the same ranking with texts compared by their TF-IDF rows
(`neighbours.vectors: tfidf`; idf fitted on train-minus-validation).
Prints one line per setting; the test split is not read.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import typer

from pipeline.method import embed

from _inputs import KnnValidation


def main(
    dataset: str = "reuters21578",
    data: Path = Path("data"),
    val_fraction: float = 0.2,
    seed: int = 13,
    ks: str = "5,10,20,30",
    sg: str = "0,1",
    epochs: str = "10,20",
    dims: str = "300",
    tfidf: bool = typer.Option(False, help="Also score neighbours by TF-IDF rows (neighbours.vectors: tfidf)."),
) -> None:
    kv_val = KnnValidation(data / dataset, val_fraction, seed)
    k_list = [int(k) for k in ks.split(",")]
    typer.echo(f"{dataset}: {len(kv_val.fit)} fit / {len(kv_val.val)} validation texts (seed {seed})")
    if tfidf:
        for k, m in kv_val.tfidf_scores(k_list).items():
            typer.echo(
                f"tfidf k={k:3d}  P@1={m['P@1']:.4f} P@5={m['P@5']:.4f} nDCG@5={m['nDCG@5']:.4f} PSP@5={m['PSP@5']:.4f}"
            )
    for s, e, d in itertools.product(sg.split(","), epochs.split(","), dims.split(",")):
        cfg = embed.Word2VecConfig(dim=int(d), sg=bool(int(s)), epochs=int(e), seed=seed)
        took, scores = kv_val.word2vec_scores(kv_val.fit_sentences(), cfg, k_list)
        for k, m in scores.items():
            typer.echo(
                f"sg={s} epochs={e} dim={d} k={k:3d}  P@1={m['P@1']:.4f} P@5={m['P@5']:.4f} "
                f"nDCG@5={m['nDCG@5']:.4f} PSP@5={m['PSP@5']:.4f}  (word2vec {took:.0f} s)"
            )


if __name__ == "__main__":
    typer.run(main)
