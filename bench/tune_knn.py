"""Choose the embed/neighbour defaults on a validation split carved from train (never test).

    python bench/tune_knn.py --dataset reuters21578

Needs the `tokenise` artifacts of the dataset (`dvc repro tokenise`). For each word2vec
setting it trains on train-minus-validation, then scores the kNN teacher ranking of the
validation texts (neighbours searched among train-minus-validation) for several k.
Prints one line per setting; the test split is not read.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from pipeline import embed, metrics, neighbours, teacher
from pipeline.text import padded


def main(
    dataset: str = "reuters21578",
    data: Path = Path("data"),
    val_fraction: float = 0.2,
    seed: int = 13,
    ks: str = "5,10,20,30",
    sg: str = "0,1",
    epochs: str = "10,20",
    dims: str = "300",
) -> None:
    tok = pq.read_table(data / dataset / "tokens" / "train.parquet")
    docs = pq.read_table(data / dataset / "prepared" / "train.parquet")
    labels = pq.read_table(data / dataset / "prepared" / "labels.parquet")
    words = np.array(pq.read_table(data / dataset / "tokens" / "vocab.parquet")["token"].to_pylist(), dtype=object)
    rng = np.random.default_rng(seed)
    is_val = np.zeros(len(tok), bool)
    is_val[rng.permutation(len(tok))[: int(val_fraction * len(tok))]] = True
    fit, val = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    space = teacher.LabelSpace.from_table(labels)
    y_fit = space.matrix(docs["labels"].take(pa.array(fit)))
    y_val = space.matrix(docs["labels"].take(pa.array(val)))
    counts = np.asarray(y_fit.sum(axis=0)).ravel()
    inv_ps = metrics.inverse_propensity(counts, len(fit))
    k_list = [int(k) for k in ks.split(",")]
    typer.echo(f"{dataset}: {len(fit)} fit / {len(val)} validation texts (seed {seed})")
    for s, e, d in itertools.product(sg.split(","), epochs.split(","), dims.split(",")):
        cfg = embed.Word2VecConfig(dim=int(d), sg=bool(int(s)), epochs=int(e), seed=seed)
        start = time.perf_counter()
        kv = embed.train_word2vec(embed.sentences(tok["tokens"].take(pa.array(fit)), words), cfg)
        took = time.perf_counter() - start
        mat, _ = embed.embedding_matrix(words, kv, seed)
        vf = embed.doc_vectors(tok["tokens"].take(pa.array(fit)), mat)
        vv = embed.doc_vectors(tok["tokens"].take(pa.array(val)), mat)
        idx, sims = neighbours.exact_search(vv, vf, max(k_list))
        for k in k_list:
            labs, _ = teacher.rank_rows(teacher.knn_scores(idx[:, :k], sims[:, :k], y_fit), 10, np.arange(len(space)))
            m = metrics.metrics_at_k(y_val, padded(labs, 10), inv_ps)
            typer.echo(
                f"sg={s} epochs={e} dim={d} k={k:3d}  P@1={m['P@1']:.4f} P@5={m['P@5']:.4f} "
                f"nDCG@5={m['nDCG@5']:.4f} PSP@5={m['PSP@5']:.4f}  (word2vec {took:.0f} s)"
            )


if __name__ == "__main__":
    typer.run(main)
