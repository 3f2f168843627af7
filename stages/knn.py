"""Stage `knn`: the teacher as a predictor (similarity-weighted neighbour votes), evaluated on test.

Writes data/<dataset>/predictions/knn.parquet (id, labels, scores: best first)
and metrics/knn.json (P@k, nDCG@k, PSP@k).
"""

from pathlib import Path

import typer
from _stage import load_params, stage

from pipeline import teacher as tk
from pipeline.io import read_table, write_json, write_table


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `evaluate`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
    metrics: Path = typer.Option(Path("metrics/knn.json"), help="Where the metrics go."),
) -> None:
    """Rank labels by neighbour votes and score the ranking on the test split."""
    with stage("knn"):
        p = load_params(params)
        name, o = p["dataset"], p["evaluate"]
        prep = data / name / "prepared"
        predictions, scores = tk.knn_predict(
            {s: read_table(prep / f"{s}.parquet", "documents") for s in ("train", "test")},
            read_table(data / name / "neighbours" / "test.parquet", "neighbours"),
            read_table(prep / "labels.parquet", "labels"),
            top_k=o["top_k"], ks=o["ks"], a=o["propensity_a"], b=o["propensity_b"],
        )
        write_table(predictions, data / name / "predictions" / "knn.parquet", "predictions")
        write_json({"dataset": name, "method": "knn", **scores}, metrics)
        typer.echo(f"{name} kNN: " + ", ".join(f"{k}={v:.4f}" for k, v in scores.items()))


if __name__ == "__main__":
    typer.run(main)
