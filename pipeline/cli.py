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


@app.command()
def predict(
    model: Path = typer.Argument(..., help="A trained model directory, e.g. models/reuters21578"),
    text: str = typer.Argument(None, help="One text to label (or use --file / --jsonl)."),
    file: Path = typer.Option(None, "--file", help="A file with one text per line."),
    jsonl: Path = typer.Option(None, "--jsonl", help='A JSON-lines file of {"id": ..., "text": ...}.'),
    k: int = typer.Option(5, "--k", min=1, help="How many labels to print per text."),
    output: Path = typer.Option(None, "--output", "-o", help="Write JSON lines here instead of printing."),
    batch: int = typer.Option(256, help="Texts per batch."),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
) -> None:
    """Top-k labels with scores for new texts, one JSON object per text.

    Texts go through the same tokenisation, neighbour search among the training texts
    and teacher-set construction as in the pipeline.
    """
    from pipeline.predict import Predictor

    try:
        ids, texts = _read_inputs(text, file, jsonl)
        predictor = Predictor.load(model, device)
    except TreaderError as exc:
        _fail(exc)
    preds = predictor.predict(texts, k=k, batch=batch, progress=len(texts) > batch)
    lines = (json.dumps({"id": i, "labels": p.labels, "scores": p.scores}, ensure_ascii=False) for i, p in zip(ids, preds))
    if output is None:
        for line in lines:
            typer.echo(line)
        return
    from pipeline.io import atomic_file

    with atomic_file(output) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines))
    typer.echo(f"wrote {len(preds)} predictions to {output}", err=True)


def _read_inputs(text, file, jsonl) -> tuple[list, list[str]]:
    given = [x is not None for x in (text, file, jsonl)]
    if sum(given) != 1:
        raise TreaderError("give exactly one of: a TEXT argument, --file, --jsonl")
    if text is not None:
        return [0], [text]
    path = file or jsonl
    if not path.exists():
        raise TreaderError(f"{path}: no such file")
    if file is not None:
        texts = _lines(path)
        return list(range(1, len(texts) + 1)), texts
    ids, texts = [], []
    for n, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            ids.append(rec.get("id", n))
            text_ = rec["text"]
        except (json.JSONDecodeError, KeyError, AttributeError) as exc:
            raise TreaderError(f'{path}, line {n}: expected {{"id": ..., "text": ...}} ({exc})') from exc
        if not isinstance(text_, str):
            raise TreaderError(f'{path}, line {n}: "text" must be a string, not {json.dumps(text_)}')
        texts.append(text_)
    return ids, texts


def _lines(path: Path) -> list[str]:
    """The file's lines, split on newlines only: str.splitlines would also split on form feeds,
    U+2028 and other characters that texts (and valid JSON strings) contain."""
    data = path.read_bytes()
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TreaderError(f"{path}, line {line}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


@app.command()
def table(
    number: int = typer.Argument(..., help="2 (every method on every corpus), 3 (the ablation, configs 0-6) or 4 (PSP@k, tail labels)."),
    dataset: list[str] = typer.Option(None, "--dataset", "-d", help="Tables 2/4: a built-in corpus to include (repeatable); default: params report.datasets."),
    folder: list[Path] = typer.Option(None, "--folder", "-f", help="Tables 2/4: also run on this folder dataset (repeatable)."),
    ablation_dataset: list[str] = typer.Option(None, help="Table 3: a corpus to ablate on (repeatable); default: params report.ablation_datasets."),
    params: Path = typer.Option(Path("params.yaml"), help="Parameter file with the `report` section."),
) -> None:
    """Build reports/table<N>.md, running only the experiments it lacks.

    Each run is a `dvc exp` named after what it varies (e.g.
    reuters21578-c3), run in a temporary directory at the current commit.
    At a later commit DVC's run cache restores whatever did not change,
    so asking again trains nothing. Then `dvc repro report@<N>` writes the
    Markdown table (the paper's published rows beside), an offline HTML
    page of pictures and DVC plot data. Commit your changes first: every
    row names the git revision it came from.
    """

    import subprocess
    import sys

    import yaml

    from pipeline import runs
    from pipeline.datasets import check_name
    from pipeline.io import write_json

    try:
        p = (yaml.safe_load(params.read_text()) or {}).get("report", {}) if params.exists() else {}
        datasets = list(dataset or p.get("datasets", ["reuters21578", "rcv1-v2-subset"]))
        folders = [str(f) for f in (folder or p.get("folders", []))]
        ablation = list(ablation_dataset or p.get("ablation_datasets", ["reuters21578"]))
        for name in [*datasets, *ablation]:
            check_name(name)
        records, ran = runs.build(number, Path.cwd(), datasets, folders, ablation, echo=typer.echo)
    except TreaderError as exc:
        _fail(exc)
    write_json({"table": number, "runs": records}, Path("reports") / "runs" / f"table{number}.json")
    res = subprocess.run([sys.executable, "-m", "dvc", "repro", f"report@{number}"])
    if res.returncode != 0:
        raise typer.Exit(res.returncode)
    typer.echo(f"table {number}: {len(records)} run(s), {ran} of them run now; see reports/table{number}.md")


if __name__ == "__main__":  # python -m pipeline.cli
    app(prog_name="treader")
