"""Stage `prepare`: raw files of the selected dataset -> data/<dataset>/prepared/.

Writes train.parquet and test.parquet (id, text, labels), labels.parquet
(label, description, parent, train_count, test_count) and stats.json
(documents read, kept, and dropped with the reason).
"""

from pathlib import Path

import typer
from _stage import load_params, stage

from pipeline.data import datasets
from pipeline.io import atomic_dir, write_json, write_table
from pipeline.paths import Artifacts, raw_cache


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file; `dataset` picks the corpus."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Load the dataset named by `dataset` in params.yaml and write its prepared splits."""
    with stage("prepare"):
        p = load_params(params)
        name = p["dataset"]
        corpus = datasets.load(name, p.get(name) or {}, cache=raw_cache(data))
        art = Artifacts(data, name)
        with atomic_dir(art.prepared_dir) as out:
            write_table(corpus.train, out / art.documents("train").name, "documents")
            write_table(corpus.test, out / art.documents("test").name, "documents")
            write_table(corpus.labels, out / art.labels.name, "labels")
            write_json(corpus.stats, out / "stats.json")
        s = corpus.stats["splits"]
        typer.echo(
            f"{name}: {s['train']['kept']} train / {s['test']['kept']} test documents, "
            f"{corpus.stats['labels']['targets']} labels"
        )


if __name__ == "__main__":
    typer.run(main)
