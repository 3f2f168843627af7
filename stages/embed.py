"""Stage `embed`: word vectors and the document vectors V_x of Eq. 1 -> data/<dataset>/embed/.

word2vec reads the train split's texts and, when `embed.extra_text` names any,
unlabelled texts from elsewhere (another corpus, a file, a folder) read through
the dataset's vocabulary. Writes embeddings.npy (float32 [vocabulary, dim], rows aligned with
tokens/vocab.parquet; <pad> is zero, words without a vector are drawn from
N(0, s^2) with s the spread of the known vectors), train.parquet and
test.parquet (id, vector) and stats.json.
"""

from pathlib import Path

import numpy as np
import typer
from _stage import load_params, stage

from pipeline import settings
from pipeline.data import datasets
from pipeline.data.text import Vocab
from pipeline.io import atomic_dir, read_table, write_json, write_table
from pipeline.method import embed
from pipeline.paths import SPLITS, Artifacts


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `embed`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Train word2vec on the train split and `embed.extra_text` (or load `embed.pretrained`), and average it per text."""
    with stage("embed"):
        p = load_params(params)
        name, opts = p["dataset"], p["embed"]
        if said := settings.describe(p, ("embed",)):
            typer.echo(said)
        art = Artifacts(data, name)
        vocab = Vocab.from_table(read_table(art.vocab, "vocab"))
        words = np.array(vocab.tokens.to_pylist(), dtype=object)
        splits = {s: read_table(art.tokens(s), "tokens") for s in SPLITS}
        cfg = embed.Word2VecConfig.from_dict(opts)
        own_path = p.get("folder", {}).get("path") if name == "folder" else None
        extra = embed.extra_sources(opts.get("extra_text"), name, own_path)
        extra_stats = []
        if opts.get("pretrained"):
            if extra:
                typer.echo(
                    f"warning: embed.pretrained is set, so embed.extra_text ({', '.join(extra)}) is not read", err=True
                )
                extra = []
            kv = embed.load_pretrained(opts["pretrained"])
        else:
            sents = embed.sentences(splits["train"]["tokens"], words)
            for source in extra:
                more = embed.vocab_sentences(datasets.extra_texts(source), words)
                extra_stats.append({"source": source, "texts": len(more), "words": sum(map(len, more))})
                typer.echo(
                    f"extra text {source}: {len(more)} texts, {extra_stats[-1]['words']} words in the vocabulary"
                )
                sents += more
            kv = embed.train_word2vec(sents, cfg)
        matrix, missing = embed.embedding_matrix(words, kv, cfg.seed)
        with atomic_dir(art.embed_dir) as out:
            with open(out / art.embeddings.name, "wb") as f:
                np.save(f, matrix)
            for split, table in splits.items():
                vectors = embed.doc_vectors(table["tokens"], matrix)
                write_table(embed.vectors_table(table["id"], vectors), out / art.vectors(split).name, "vectors")
            write_json(
                {
                    "source": opts.get("pretrained") or "word2vec on train" + " + extra text" * bool(extra),
                    "extra_text": extra_stats,
                    "dim": int(matrix.shape[1]),
                    "vocabulary": int(matrix.shape[0]),
                    "without_vector": missing,
                    "word2vec": cfg.to_dict(),
                },
                out / "stats.json",
            )
        typer.echo(f"{name}: {matrix.shape[0]} x {matrix.shape[1]} embeddings, {missing} words without a vector")


if __name__ == "__main__":
    typer.run(main)
