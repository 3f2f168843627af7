"""Stage `embed`: word vectors and the document vectors V_x of Eq. 1 -> data/<dataset>/embed/.

Writes embeddings.npy (float32 [vocabulary, dim], rows aligned with
tokens/vocab.parquet; <pad> is zero, words without a vector are drawn from
N(0, s^2) with s the spread of the known vectors), train.parquet and
test.parquet (id, vector) and stats.json.
"""

from pathlib import Path

import numpy as np
import typer
from _stage import load_params, stage

from pipeline import embed
from pipeline.io import atomic_dir, read_table, write_json, write_table
from pipeline.text import Vocab


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `embed`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Train word2vec on the train split (or load `embed.pretrained`) and average it per text."""
    with stage("embed"):
        p = load_params(params)
        name, opts = p["dataset"], p["embed"]
        tok = data / name / "tokens"
        vocab = Vocab.from_table(read_table(tok / "vocab.parquet", "vocab"))
        words = np.array(vocab.tokens.to_pylist(), dtype=object)
        splits = {s: read_table(tok / f"{s}.parquet", "tokens") for s in ("train", "test")}
        cfg = embed.Word2VecConfig.from_dict(opts)
        if opts.get("pretrained"):
            kv = embed.load_pretrained(opts["pretrained"])
        else:
            kv = embed.train_word2vec(embed.sentences(splits["train"]["tokens"], words), cfg)
        matrix, missing = embed.embedding_matrix(words, kv, cfg.seed)
        with atomic_dir(data / name / "embed") as out:
            with open(out / "embeddings.npy", "wb") as f:
                np.save(f, matrix)
            for split, table in splits.items():
                vectors = embed.doc_vectors(table["tokens"], matrix)
                write_table(embed.vectors_table(table["id"], vectors), out / f"{split}.parquet", "vectors")
            write_json(
                {"source": opts.get("pretrained") or "word2vec on train", "dim": int(matrix.shape[1]),
                 "vocabulary": int(matrix.shape[0]), "without_vector": missing, "word2vec": cfg.to_dict()},
                out / "stats.json",
            )
        typer.echo(f"{name}: {matrix.shape[0]} x {matrix.shape[1]} embeddings, {missing} words without a vector")


if __name__ == "__main__":
    typer.run(main)
