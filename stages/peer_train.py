"""Stage `peer_train@<method>`: a peer (omikuji Parabel/Bonsai, napkinXC PLT) on the TF-IDF features.

Writes models/peers/<dataset>/<method>/ (the library's model, peer.json, labels.json,
train.log with the library's own output, usage.json: train seconds and peak memory).
"""

import json
from pathlib import Path

import pyarrow.compute as pc
import scipy.sparse as sp
import typer
from _stage import load_params, stage

from pipeline import usage
from pipeline.errors import ConfigError
from pipeline.io import atomic_dir, read_table
from pipeline.paths import Artifacts, peer_dir
from pipeline.report import peers


def main(
    method: str = typer.Argument(..., help="A key of `peers.methods` in params.yaml, e.g. parabel, bonsai, plt."),
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `peers`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
    models: Path = typer.Option("models", help="Where the model directories go."),
) -> None:
    """Train one peer on the train split."""
    with stage(f"peer_train {method}"):
        p = load_params(params)
        methods = p["peers"]["methods"]
        if method not in methods:
            raise ConfigError(f"no peer {method!r} in params.yaml; peers: {', '.join(methods)}")
        kind, settings = peers.check_settings(method, methods[method])
        art = Artifacts(data, p["dataset"])
        docs = read_table(art.documents("train"), "documents")
        table = read_table(art.labels, "labels")
        # the labels seen in train, in label-table order: TReaderXML's outputs (examples.target_labels, not
        # imported here so that torch's memory does not count against the peer)
        labels = table.filter(pc.greater(table["train_count"], 0))["label"].to_pylist()
        index = {label: i for i, label in enumerate(labels)}
        y = [[index[label] for label in row if label in index] for row in docs["labels"].to_pylist()]
        x = sp.load_npz(art.tfidf("train"))
        cost: dict = {}
        with atomic_dir(peer_dir(models, p["dataset"], method)) as out:
            with usage.timed(cost, "train_s"):
                peers.train(kind, settings, x, y, len(labels), out, threads=p["peers"]["threads"])
            cost["train_peak_mb"] = usage.peak_rss_mb()
            (out / "labels.json").write_text(json.dumps(labels) + "\n")
            (out / "usage.json").write_text(json.dumps(cost) + "\n")
        typer.echo(
            f"{p['dataset']} {method} ({kind}): trained in {cost['train_s']:.1f} s, peak {cost['train_peak_mb']:.0f} MiB"
        )


if __name__ == "__main__":
    typer.run(main)
