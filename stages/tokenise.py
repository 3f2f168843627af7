"""Stage `tokenise`: prepared splits -> data/<dataset>/tokens/.

Writes train.parquet and test.parquet (id, tokens), vocab.parquet (id, token,
count; from the train split only, <pad>=0, <unk>=1), labels.parquet (label,
tokens: the truncated label descriptions) and stats.json.
"""

from pathlib import Path

import typer
from _stage import load_params, stage

from pipeline.data.text import tokenise_corpus
from pipeline.io import atomic_dir, read_table, write_json, write_table
from pipeline.paths import Artifacts


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `tokenise`, the dataset's section)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Tokenise, truncate and map the prepared texts and label descriptions to ids."""
    with stage("tokenise"):
        p = load_params(params)
        name = p["dataset"]
        opts, tok = p[name], p["tokenise"]
        art = Artifacts(data, name)
        tables, stats = tokenise_corpus(
            read_table(art.documents("train"), "documents"),
            read_table(art.documents("test"), "documents"),
            read_table(art.labels, "labels"),
            max_words=opts["max_words"],
            label_max_words=opts["label_max_words"],
            min_count=tok["min_count"],
            max_vocab=tok.get("max_vocab"),
        )
        with atomic_dir(art.tokens_dir) as out:
            write_table(tables["train"], out / art.tokens("train").name, "tokens")
            write_table(tables["test"], out / art.tokens("test").name, "tokens")
            write_table(tables["vocab"], out / art.vocab.name, "vocab")
            write_table(tables["labels"], out / art.label_tokens.name, "label_tokens")
            write_json(stats, out / "stats.json")
        typer.echo(
            f"{name}: vocabulary of {stats['vocab_size']} words; "
            f"test <unk> rate {stats['splits']['test']['unk_rate']:.3f}"
        )


if __name__ == "__main__":
    typer.run(main)
