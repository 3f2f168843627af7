"""Stage `evaluate`: the trained model on the test split.

Writes data/<dataset>/predictions/treaderxml.parquet (id, labels, scores: the top
`evaluate.top_k`, best first), metrics/treaderxml.json (P@k, nDCG@k, PSP@k) and
metrics/treaderxml_tail.json (P@5 by training frequency of the labels: the tail view).
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
import typer
from _stage import load_params, stage

from pipeline import metrics, predict, usage
from pipeline.io import read_table, write_json, write_table
from pipeline.train import predict_logits, top_k


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `teacher`, `evaluate`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
    models: Path = typer.Option("models", help="Where the trained model directory is."),
    out: Path = typer.Option(Path("metrics"), help="Where the metrics go."),
) -> None:
    """Predict the test split with the trained model and score it."""
    with stage("evaluate"):
        p = load_params(params)
        name, o, root = p["dataset"], p["evaluate"], data / p["dataset"]
        pred = predict.Predictor.load(models / name)
        docs = read_table(root / "prepared" / "test.parquet", "documents")
        tokens = read_table(root / "tokens" / "test.parquet", "tokens")
        teach = read_table(root / "teacher" / "test.parquet", "teacher") if pred.model.cfg.teacher else None
        cost = dict(pred.config.get("usage", {}))
        with usage.timed(cost, "predict_s"):
            logits = predict_logits(pred.model, predict.examples(tokens, teach, docs, pred.outputs), pred.device, progress=True)
        cost["predict_peak_mb"] = usage.peak_rss_mb()
        idx, scores = top_k(logits, o["top_k"])
        names = np.asarray(pred.outputs.to_pylist(), dtype=object)
        labels = pa.array([names[row].tolist() for row in idx], pa.list_(pa.string()))
        write_table(pa.table({"id": docs["id"], "labels": labels, "scores": pa.array(list(scores), pa.list_(pa.float32()))}),
                    root / "predictions" / "treaderxml.parquet", "predictions")
        train_counts = dict(zip(pred.space.labels.to_pylist(), pred.space.train_count.tolist()))
        true, ranked = docs["labels"].to_pylist(), labels.to_pylist()
        n_train = pred.train_y.shape[0]
        scores_ = metrics.evaluate(true, ranked, train_counts, n_train, o["ks"], o["propensity_a"], o["propensity_b"])
        write_json({"dataset": name, "method": "treaderxml", "reading": pred.model.cfg.reading, "teacher": pred.model.cfg.teacher,
                    **scores_, **cost}, out / "treaderxml.json")
        tail = metrics.precision_by_frequency(true, ranked, train_counts, k=5)
        write_json([{"method": "treaderxml", **row} for row in tail], out / "treaderxml_tail.json")
        typer.echo(f"{name} TReaderXML: " + ", ".join(f"{k}={v:.4f}" for k, v in scores_.items()))


if __name__ == "__main__":
    typer.run(main)
