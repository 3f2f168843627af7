"""`treader`: what users do outside DVC (fetch raw data, look at artifacts)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pipeline.errors import TreaderError
from pipeline.paths import raw_cache, table_runs

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
    from pipeline.data.datasets import DATASETS
    from pipeline.data.sources import SOURCES

    for name in DATASETS:
        src = SOURCES.get(name)
        where = ", ".join(src.urls[:1]) if src else "a folder of yours (params: folder.path)"
        typer.echo(f"{name:16s} {where}")


@app.command()
def fetch(
    dataset: str = typer.Argument(..., help="reuters21578 or rcv1-v2-subset"),
    cache: Path = typer.Option(raw_cache(), help="Where downloads are kept."),
) -> None:
    """Find (TREADER_DATA_DIR) or download a dataset's raw files and verify their SHA-256 sums."""
    from pipeline.data import sources
    from pipeline.data.datasets import check_name

    try:
        check_name(dataset)
        folder = sources.locate(dataset, cache)
    except TreaderError as exc:
        _fail(exc)
    typer.echo(f"{dataset}: verified raw files in {folder}")


@app.command()
def synth(
    out: Path = typer.Argument(
        ..., help="The folder to write (made afresh; a `folder` dataset in the raw-text layout)."
    ),
    shape: str = typer.Option("eurlex4k", help="eurlex4k | wiki10-31k | amazoncat13k: whose sizes and statistics."),
    train: int = typer.Option(None, help="Train texts (default: the shape's)."),
    test: int = typer.Option(None, help="Test texts (default: the shape's)."),
    labels: int = typer.Option(None, help="Labels (default: the shape's)."),
    seed: int = typer.Option(13, help="The same seed and sizes write the same bytes."),
) -> None:
    """Write a synthetic corpus of a benchmark's shape (texts, labels, labels a text, text lengths,
    skewed label frequencies, topic words per label, a label hierarchy and descriptions).

    Use it as your data: dvc exp run -S dataset=folder -S folder.path=OUT
    """
    from pipeline.data import synth as synth_mod

    try:
        stats = synth_mod.write(out, synth_mod.shape_of(shape, train, test, labels), seed=seed)
    except TreaderError as exc:
        _fail(exc)
    for split in ("train", "test"):
        s = stats[split]
        typer.echo(f"{split}: {s['texts']} texts, {s['labels_per_text']:.2f} labels and "
                   f"{s['words_per_text']:.0f} words a text, {s['labels_used']} labels used")  # fmt: skip
    typer.echo(f"wrote {out} ({shape}, seed {seed})")


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
    lift_parents: str = typer.Option(
        "auto",
        help="auto | on | off: raise each label's score to its best descendant's; "
        "auto does when the training label sets hold every label's parent (as `evaluate` does).",
    ),
) -> None:
    """Top-k labels with scores for new texts, one JSON object per text.

    Texts go through the same tokenisation, neighbour search among the training texts
    and teacher-set construction as in the pipeline.
    """
    from pipeline.engine.predict import Predictor

    try:
        ids, texts = _read_inputs(text, file, jsonl)
        predictor = Predictor.load(model, device, lift_parents)
    except TreaderError as exc:
        _fail(exc)
    preds = predictor.predict(texts, k=k, batch=batch, progress=len(texts) > batch)
    for i, p in zip(ids, preds):
        if p.known_words == 0:
            typer.echo(
                f"warning: text {i} has no word the model knows: its labels reflect the training labels' "
                "frequencies and arbitrary neighbours, not the text",
                err=True,
            )
    lines = (
        json.dumps({"id": i, "labels": p.labels, "scores": p.scores}, ensure_ascii=False) for i, p in zip(ids, preds)
    )
    if output is None:
        for line in lines:
            typer.echo(line)
        return
    from pipeline.io import atomic_file

    with atomic_file(output) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines))
    typer.echo(f"wrote {len(preds)} predictions to {output}", err=True)


def _read_inputs(text, file, jsonl) -> tuple[list, list[str]]:
    from pipeline.data.textfile import read_json_texts, read_lines

    given = [x is not None for x in (text, file, jsonl)]
    if sum(given) != 1:
        raise TreaderError("give exactly one of: a TEXT argument, --file, --jsonl")
    if text is not None:
        return [0], [text]
    path = file or jsonl
    if not path.exists():
        raise TreaderError(f"{path}: no such file")
    if file is not None:
        texts = read_lines(path)
        return list(range(1, len(texts) + 1)), texts
    ids, texts = [], []
    for n, rec, text_ in read_json_texts(path):
        ids.append(rec.get("id", n))
        texts.append(text_)
    return ids, texts


@app.command()
def table(
    number: int = typer.Argument(
        ..., help="2 (every method on every corpus), 3 (the ablation, configs 0-6) or 4 (PSP@k, tail labels)."
    ),
    dataset: list[str] = typer.Option(
        None,
        "--dataset",
        "-d",
        help="Tables 2/4: a built-in corpus to include (repeatable); default: params report.datasets.",
    ),
    folder: list[Path] = typer.Option(
        None, "--folder", "-f", help="Tables 2/4: also run on this folder dataset (repeatable)."
    ),
    ablation_dataset: list[str] = typer.Option(
        None, help="Table 3: a corpus to ablate on (repeatable); default: params report.ablation_datasets."
    ),
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

    from pipeline.data.datasets import check_name
    from pipeline.io import write_json
    from pipeline.report import runs

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
    write_json({"table": number, "runs": records}, table_runs("reports", number))
    res = subprocess.run([sys.executable, "-m", "dvc", "repro", f"report@{number}"])
    if res.returncode != 0:
        raise typer.Exit(res.returncode)
    typer.echo(f"table {number}: {len(records)} run(s), {ran} of them run now; see reports/table{number}.md")


@app.command()
def compare(
    first: str = typer.Argument(
        ...,
        help="Predictions to test: a method name (treaderxml, bonsai, parabel, plt, knn) or a predictions Parquet file.",
    ),
    second: str = typer.Argument(..., help="Predictions to compare against, the same way."),
    dataset: str = typer.Option(None, "--dataset", "-d", help="Whose test split (default: params `dataset`)."),
    data: Path = typer.Option(Path("data"), help="Root folder of the pipeline's artifacts."),
    params: Path = typer.Option(
        Path("params.yaml"), help="Parameter file (`dataset`, `evaluate`: ks and propensity constants)."
    ),
    resamples: int = typer.Option(10_000, min=100, help="Bootstrap resamples of the test documents."),
    seed: int = typer.Option(0, help="Seed of the resampling."),
    level: float = typer.Option(0.95, min=0.5, max=0.999, help="Coverage of the interval."),
    out: Path = typer.Option(None, help="Also write the comparison as JSON here."),
) -> None:
    """Whether FIRST beats SECOND on the test split beyond chance: a paired bootstrap over test documents.

    Prints each metric for both, their difference with a percentile interval, a two-sided p-value and how often FIRST wins across resamples. It measures the test sample's noise only; training another seed adds noise of its own (README, "How sure are these numbers").
    """
    import yaml

    from pipeline import settings
    from pipeline.io import read_table, write_json
    from pipeline.paths import Artifacts
    from pipeline.report import compare as cmp
    from pipeline.report import metrics

    try:
        p = (yaml.safe_load(params.read_text()) or {}) if params.exists() else {}
        name = dataset or p.get("dataset") or "reuters21578"
        p = settings.resolve({**p, "dataset": name})
        ev = {
            "ks": [1, 3, 5],
            "propensity_a": metrics.PROPENSITY_A,
            "propensity_b": metrics.PROPENSITY_B,
            **(p.get("evaluate") or {}),
        }
        art = Artifacts(data, name)
        truth = read_table(art.documents("test"), "documents")
        labels = read_table(art.labels, "labels")
        n_train = read_table(art.documents("train"), "documents").num_rows
        counts = dict(zip(labels["label"].to_pylist(), labels["train_count"].to_pylist()))
        preds = [
            read_table(Path(x) if x.endswith(".parquet") else art.predictions(x), "predictions")
            for x in (first, second)
        ]
        ids = truth["id"].to_pylist()
        rows = cmp.align(preds[0]["id"].to_pylist(), preds[1]["id"].to_pylist(), ids)
        true = truth["labels"].to_pylist()
        parts = []
        for pr, r in zip(preds, rows):
            ranked = pr["labels"].to_pylist()
            parts.append(
                metrics.evaluate_per_document(
                    true, [ranked[i] for i in r], counts, n_train, ev["ks"], ev["propensity_a"], ev["propensity_b"]
                )
            )
    except TreaderError as exc:
        _fail(exc)
    res = cmp.paired_bootstrap(parts[0], parts[1], resamples=resamples, seed=seed, level=level)
    typer.echo(f"{name}: {len(ids)} test documents, {resamples} paired resamples (seed {seed}), {level:.0%} intervals")
    typer.echo(
        f"{'metric':8s} {'first':>7s} {'second':>7s} {'diff':>8s}  {'interval':^19s} {'p':>7s} {'first wins':>10s}"
    )
    floor = 2 / resamples  # the smallest p-value this many resamples can show
    for d in res:
        pv = f"<{floor:.4f}" if d.p < floor else f"{d.p:.4f}"
        typer.echo(
            f"{d.metric:8s} {d.a:7.4f} {d.b:7.4f} {d.diff:+8.4f}  [{d.low:+.4f}, {d.high:+.4f}] {pv:>7s} {d.a_wins:10.1%}"
        )
    if out:
        write_json(
            {
                "dataset": name,
                "first": first,
                "second": second,
                "documents": len(ids),
                "resamples": resamples,
                "seed": seed,
                "level": level,
                "metrics": [
                    {
                        "metric": d.metric,
                        "first": d.a,
                        "second": d.b,
                        "diff": d.diff,
                        "low": d.low,
                        "high": d.high,
                        "p": d.p,
                        "first_wins": d.a_wins,
                    }
                    for d in res
                ],
            },
            out,
        )


if __name__ == "__main__":  # python -m pipeline.cli
    app(prog_name="treader")
