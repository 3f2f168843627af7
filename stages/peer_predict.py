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

from pipeline import usage
from pipeline.errors import DataError
from pipeline.io import read_table
from pipeline.paths import Artifacts, peer_dir
from pipeline.report import peers


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
        name, o, art = p["dataset"], p["evaluate"], Artifacts(data, p["dataset"])
        model_dir = peer_dir(models, name, method)
        if not (model_dir / "peer.json").exists():
            raise DataError(f"no trained peer here; run `dvc repro peer_train@{method}`", model_dir)
        labels = np.asarray(json.loads((model_dir / "labels.json").read_text()), dtype=object)
        cost = json.loads((model_dir / "usage.json").read_text())
        docs = read_table(art.documents("test"), "documents")
        x = sp.load_npz(art.tfidf("test"))
        with usage.timed(cost, "predict_s"):
            peer = peers.Peer(model_dir, threads=p["peers"]["threads"])
            idx, scores = peer.predict(x, o["top_k"], progress=True)
        cost["predict_peak_mb"] = usage.peak_rss_mb()
        ranked = [labels[row[row >= 0]].tolist() for row in idx]
        train = read_table(art.labels, "labels")
        n_train = pq.ParquetFile(art.documents("train")).metadata.num_rows  # the count, not the texts
        write_results(
            method,
            name,
            docs,
            ranked,
            [s[: len(r)].tolist() for s, r in zip(scores, ranked)],
            dict(zip(train["label"].to_pylist(), train["train_count"].to_pylist())),
            n_train,
            o,
            art.predictions(method),
            out,
            info={"library": peer.kind},
            cost=cost,
        )


if __name__ == "__main__":
    typer.run(main)
