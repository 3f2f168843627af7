"""Stage `prepare`: raw files of the selected dataset -> data/<dataset>/prepared/.

Writes train.parquet and test.parquet (id, text, labels), labels.parquet
(label, description, parent, train_count, test_count) and stats.json
(documents read, kept, and dropped with the reason).
"""

from pathlib import Path

import typer
from _stage import load_params, stage

from pipeline import datasets
from pipeline.io import atomic_dir, write_json, write_table


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file; `dataset` picks the corpus."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Load the dataset named by `dataset` in params.yaml and write its prepared splits."""
    with stage("prepare"):
        p = load_params(params)
        name = p["dataset"]
        corpus = datasets.load(name, p.get(name) or {}, cache=data / "raw")
        with atomic_dir(data / name / "prepared") as out:
            write_table(corpus.train, out / "train.parquet", "documents")
            write_table(corpus.test, out / "test.parquet", "documents")
            write_table(corpus.labels, out / "labels.parquet", "labels")
            write_json(corpus.stats, out / "stats.json")
        s = corpus.stats["splits"]
        typer.echo(f"{name}: {s['train']['kept']} train / {s['test']['kept']} test documents, "
                   f"{corpus.stats['labels']['targets']} labels")


if __name__ == "__main__":
    typer.run(main)
