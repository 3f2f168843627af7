"""`treader`: what users do outside DVC (fetch raw data, look at artifacts)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pipeline.errors import TreaderError

app = typer.Typer(
    help="TReaderXML tools. The pipeline itself runs with `dvc repro`; see README.md.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(exc: TreaderError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


@app.command()
def datasets() -> None:
    """List the built-in datasets and where their raw files come from."""
    from pipeline.datasets import DATASETS
    from pipeline.datasets.sources import SOURCES

    for name in DATASETS:
        src = SOURCES.get(name)
        where = ", ".join(src.urls[:1]) if src else "a folder of yours (params: folder.path)"
        typer.echo(f"{name:16s} {where}")


@app.command()
def fetch(
    dataset: str = typer.Argument(..., help="reuters21578 or rcv1-v2-subset"),
    cache: Path = typer.Option(Path("data/raw"), help="Where downloads are kept."),
) -> None:
    """Find (TREADER_DATA_DIR) or download a dataset's raw files and verify their SHA-256 sums."""
    from pipeline.datasets import check_name, sources

    try:
        check_name(dataset)
        folder = sources.locate(dataset, cache)
    except TreaderError as exc:
        _fail(exc)
    typer.echo(f"{dataset}: verified raw files in {folder}")


@app.command()
def inspect(
    path: Path = typer.Argument(..., help="A Parquet artifact, e.g. data/reuters21578/prepared/train.parquet"),
    rows: int = typer.Option(5, help="How many rows to show."),
) -> None:
    """Print an artifact's schema, row count and first rows."""
    import pyarrow.parquet as pq

    if not path.exists():
        _fail(TreaderError(f"{path}: no such file"))
    table = pq.read_table(path)
    typer.echo(f"{path}: {table.num_rows} rows\n{table.schema}\n")
    for row in table.slice(0, rows).to_pylist():
        typer.echo(json.dumps(row, ensure_ascii=False, default=str)[:300])


if __name__ == "__main__":  # python -m pipeline.cli
    app(prog_name="treader")
