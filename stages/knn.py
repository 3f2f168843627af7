"""Stage `knn`: the teacher as a predictor (similarity-weighted neighbour votes), evaluated on test.

Writes data/<dataset>/predictions/knn.parquet (id, labels, scores: best first),
metrics/knn.json (P@k, nDCG@k, PSP@k and costs) and metrics/knn_tail.json. The
kNN "model" is the neighbour index: its train_s is the index build time and its
predict_s the test queries (both from metrics/neighbours.json) plus the vote ranking.
"""

import json
from pathlib import Path

import typer
from _results import write_results
from _stage import load_params, stage

from pipeline import usage
from pipeline.io import read_table
from pipeline.method import teacher as tk
from pipeline.paths import SPLITS, Artifacts


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `evaluate`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
    metrics: Path = typer.Option(
        Path("metrics/knn.json"), help="Where the metrics go (the tail view lands next to it)."
    ),
    neighbour_metrics: Path = typer.Option(Path("metrics/neighbours.json"), help="The neighbours stage's timings."),
) -> None:
    """Rank labels by neighbour votes and score the ranking on the test split."""
    with stage("knn"):
        p = load_params(params)
        name, o = p["dataset"], p["evaluate"]
        art = Artifacts(data, name)
        docs = {s: read_table(art.documents(s), "documents") for s in SPLITS}
        labels = read_table(art.labels, "labels")
        cost: dict = {}
        with usage.timed(cost, "predict_s"):
            predictions = tk.knn_rank(docs, read_table(art.neighbours("test"), "neighbours"), labels, top_k=o["top_k"])
        nb = json.loads(neighbour_metrics.read_text()) if neighbour_metrics.exists() else {}
        if nb:
            cost["train_s"] = nb["build_s"]
            cost["predict_s"] = round(
                cost["predict_s"] + nb["query_ms_per_doc"][nb["backend"]] * len(docs["test"]) / 1000, 3
            )
        cost["predict_peak_mb"] = usage.peak_rss_mb()
        counts = dict(zip(labels["label"].to_pylist(), labels["train_count"].to_pylist()))
        write_results(
            "knn",
            name,
            docs["test"],
            predictions["labels"].to_pylist(),
            predictions["scores"].to_pylist(),
            counts,
            len(docs["train"]),
            o,
            art.predictions("knn"),
            metrics.parent,
            cost=cost,
        )


if __name__ == "__main__":
    typer.run(main)
