"""Choose `embed.extra_text` on a validation split carved from train (never test).

    python bench/tune_extra_text.py --dataset rcv1-v2-subset --extra reuters21578

Needs the `prepare` and `tokenise` artifacts of the dataset (`dvc repro tokenise`,
or `--data` pointing at a workspace that has them). For word2vec trained on
train-minus-validation alone, and then with each extra source added (read as the
`embed` stage reads it: through the dataset's vocabulary, unknown words dropped), it
scores the kNN teacher ranking of the validation texts among the rest, the same
proxy as bench/tune_knn.py. `--raw` also tries each source with its unknown words
kept (as <unk>-free raw words), to show what the vocabulary filter does. The test
split is not read.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from pipeline import datasets, embed, metrics, neighbours, teacher
from pipeline.text import padded, split_words


def main(
    dataset: str = "rcv1-v2-subset",
    extra: str = typer.Option("reuters21578", help="Comma-separated embed.extra_text sources to try, one at a time."),
    data: Path = Path("data"),
    val_fraction: float = 0.2,
    seed: int = 13,
    ks: str = "10,20",
    dim: int = 128,
    epochs: int = 10,
    raw: bool = typer.Option(False, help="Also try each source without the vocabulary filter."),
) -> None:
    tok = pq.read_table(data / dataset / "tokens" / "train.parquet")
    docs = pq.read_table(data / dataset / "prepared" / "train.parquet")
    labels = pq.read_table(data / dataset / "prepared" / "labels.parquet")
    words = np.array(pq.read_table(data / dataset / "tokens" / "vocab.parquet")["token"].to_pylist(), dtype=object)
    rng = np.random.default_rng(seed)
    is_val = np.zeros(len(tok), bool)
    is_val[rng.permutation(len(tok))[: int(val_fraction * len(tok))]] = True
    fit, val = pa.array(np.flatnonzero(~is_val)), pa.array(np.flatnonzero(is_val))
    space = teacher.LabelSpace.from_table(labels)
    y_fit, y_val = space.matrix(docs["labels"].take(fit)), space.matrix(docs["labels"].take(val))
    inv_ps = metrics.inverse_propensity(np.asarray(y_fit.sum(axis=0)).ravel(), len(fit))
    k_list = [int(k) for k in ks.split(",")]
    fit_sents = embed.sentences(tok["tokens"].take(fit), words)
    typer.echo(f"{dataset}: {len(fit)} fit / {len(val)} validation texts (seed {seed}); word2vec dim {dim}, {epochs} epochs")
    trials = [("none", [])]
    for source in [s for s in extra.split(",") if s]:
        embed.extra_sources([source], dataset)  # refuses the dataset itself
        texts = datasets.extra_texts(source)
        trials.append((source, embed.vocab_sentences(texts, words)))
        if raw:
            trials.append((f"{source} (raw words)", [s for s in split_words(texts).to_pylist() if s]))
    for name, more in trials:
        cfg = embed.Word2VecConfig(dim=dim, epochs=epochs, seed=seed)
        start = time.perf_counter()
        kv = embed.train_word2vec(fit_sents + more, cfg)
        took = time.perf_counter() - start
        mat, _ = embed.embedding_matrix(words, kv, seed)
        vf, vv = embed.doc_vectors(tok["tokens"].take(fit), mat), embed.doc_vectors(tok["tokens"].take(val), mat)
        idx, sims = neighbours.exact_search(vv, vf, max(k_list))
        for k in k_list:
            labs, _ = teacher.rank_rows(teacher.knn_scores(idx[:, :k], sims[:, :k], y_fit), 10, np.arange(len(space)))
            m = metrics.metrics_at_k(y_val, padded(labs, 10), inv_ps)
            typer.echo(
                f"extra={name:28s} texts={len(more):6d} words={sum(map(len, more)):8d} k={k:3d}  P@1={m['P@1']:.4f} "
                f"nDCG@5={m['nDCG@5']:.4f} PSP@5={m['PSP@5']:.4f}  (word2vec {took:.0f} s)"
            )


if __name__ == "__main__":
    typer.run(main)
