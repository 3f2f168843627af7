"""Choose `embed.extra_text` on a validation split carved from train (never test).

    python bench/tune_extra_text.py --dataset rcv1-v2-subset --extra reuters21578

Needs the `prepare` and `tokenise` artifacts of the dataset (`dvc repro tokenise`,
or `--data` pointing at a workspace that has them). For word2vec trained on
train-minus-validation alone, and then with each extra source added (read as the
`embed` stage reads it: through the dataset's vocabulary, unknown words dropped), it
scores the kNN teacher ranking of the validation texts among the rest, the same
proxy as bench/tune_knn.py. `--raw` also tries each source with every word of its
texts kept, to show what the vocabulary filter does. Built-in corpora are read from
$TREADER_DATA_DIR, as the stages read them. The test split is not read.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pipeline.data import datasets
from pipeline.data.text import split_words
from pipeline.method import embed

from _inputs import KnnValidation


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
    kv_val = KnnValidation(data / dataset, val_fraction, seed)
    k_list = [int(k) for k in ks.split(",")]
    fit_sents = kv_val.fit_sentences()
    typer.echo(
        f"{dataset}: {len(kv_val.fit)} fit / {len(kv_val.val)} validation texts (seed {seed}); word2vec dim {dim}, {epochs} epochs"
    )
    # a folder dataset's own path, as `prepare` recorded it, so that it is refused like its name
    own_path = (
        json.loads((data / dataset / "prepared" / "stats.json").read_text()).get("path")
        if dataset == "folder"
        else None
    )
    trials = [("none", [])]
    for source in [s for s in extra.split(",") if s]:
        embed.extra_sources([source], dataset, own_path)  # refuses the dataset itself
        texts = datasets.extra_texts(source)
        trials.append((source, embed.vocab_sentences(texts, kv_val.words)))
        if raw:
            trials.append((f"{source} (raw words)", [s for s in split_words(texts).to_pylist() if s]))
    for name, more in trials:
        took, scores = kv_val.word2vec_scores(
            fit_sents + more, embed.Word2VecConfig(dim=dim, epochs=epochs, seed=seed), k_list
        )
        for k, m in scores.items():
            typer.echo(
                f"extra={name:28s} texts={len(more):6d} words={sum(map(len, more)):8d} k={k:3d}  P@1={m['P@1']:.4f} "
                f"nDCG@5={m['nDCG@5']:.4f} PSP@5={m['PSP@5']:.4f}  (word2vec {took:.0f} s)"
            )


if __name__ == "__main__":
    typer.run(main)
