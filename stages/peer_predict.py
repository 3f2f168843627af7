"""Stage `peer_predict@<method>`: a trained peer on the test split.

Writes data/<dataset>/predictions/<method>.parquet and metrics/<method>.json (the same
keys and metric code as TReaderXML's, plus train/predict seconds and peak memory) and
metrics/<method>_tail.json.
"""

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp
import typer
from _results import write_results
from _stage import load_params, stage

from pipeline import peers, usage
from pipeline.errors import DataError
from pipeline.io import read_table


def main(
    method: str = typer.Argument(..., help="A key of `peers.methods` in params.yaml, e.g. parabel, bonsai, plt."),
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `peers`, `evaluate`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
    models: Path = typer.Option("models", help="Where the model directories are."),
    out: Path = typer.Option(Path("metrics"), help="Where the metrics go."),
) -> None:
    """Predict the test split with one trained peer and score it."""
    with stage(f"peer_predict {method}"):
        p = load_params(params)
        name, o, root = p["dataset"], p["evaluate"], data / p["dataset"]
        model_dir = models / "peers" / name / method
        if not (model_dir / "peer.json").exists():
            raise DataError(f"no trained peer here; run `dvc repro peer_train@{method}`", model_dir)
        labels = np.asarray(json.loads((model_dir / "labels.json").read_text()), dtype=object)
        cost = json.loads((model_dir / "usage.json").read_text())
        docs = read_table(root / "prepared" / "test.parquet", "documents")
        x = sp.load_npz(root / "tfidf" / "test.npz")
        with usage.timed(cost, "predict_s"):
            peer = peers.Peer(model_dir, threads=p["peers"]["threads"])
            idx, scores = peer.predict(x, o["top_k"], progress=True)
        cost["predict_peak_mb"] = usage.peak_rss_mb()
        ranked = [labels[row[row >= 0]].tolist() for row in idx]
        train = read_table(root / "prepared" / "labels.parquet", "labels")
        n_train = pq.ParquetFile(root / "prepared" / "train.parquet").metadata.num_rows  # the count, not the texts
        write_results(method, name, docs, ranked, [s[: len(r)].tolist() for s, r in zip(scores, ranked)],
                      dict(zip(train["label"].to_pylist(), train["train_count"].to_pylist())), n_train, o,
                      root / "predictions" / f"{method}.parquet", out, info={"library": peer.kind}, cost=cost)


if __name__ == "__main__":
    typer.run(main)
