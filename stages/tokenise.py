"""Stage `tokenise`: prepared splits -> data/<dataset>/tokens/.

Writes train.parquet and test.parquet (id, tokens), vocab.parquet (id, token,
count; from the train split only, <pad>=0, <unk>=1), labels.parquet (label,
tokens: the truncated label descriptions) and stats.json.
"""

from pathlib import Path

import typer
from _stage import load_params, stage

from pipeline.io import atomic_dir, read_table, write_json, write_table
from pipeline.text import tokenise_corpus


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `tokenise`, the dataset's section)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Tokenise, truncate and map the prepared texts and label descriptions to ids."""
    with stage("tokenise"):
        p = load_params(params)
        name = p["dataset"]
        opts, tok = p[name], p["tokenise"]
        prep = data / name / "prepared"
        tables, stats = tokenise_corpus(
            read_table(prep / "train.parquet", "documents"),
            read_table(prep / "test.parquet", "documents"),
            read_table(prep / "labels.parquet", "labels"),
            max_words=opts["max_words"],
            label_max_words=opts["label_max_words"],
            min_count=tok["min_count"],
            max_vocab=tok.get("max_vocab"),
        )
        with atomic_dir(data / name / "tokens") as out:
            write_table(tables["train"], out / "train.parquet", "tokens")
            write_table(tables["test"], out / "test.parquet", "tokens")
            write_table(tables["vocab"], out / "vocab.parquet", "vocab")
            write_table(tables["labels"], out / "labels.parquet", "label_tokens")
            write_json(stats, out / "stats.json")
        typer.echo(f"{name}: vocabulary of {stats['vocab_size']} words; "
                   f"test <unk> rate {stats['splits']['test']['unk_rate']:.3f}")


if __name__ == "__main__":
    typer.run(main)
