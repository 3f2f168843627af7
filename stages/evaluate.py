"""Stage `evaluate`: the trained model on the test split.

Writes data/<dataset>/predictions/treaderxml.parquet (id, labels, scores: the top
`evaluate.top_k`, best first), metrics/treaderxml.json (P@k, nDCG@k, PSP@k, and what
training and prediction cost: seconds and peak memory) and metrics/treaderxml_tail.json
(P@5 by training frequency of the labels: the tail view).
"""

from pathlib import Path

import numpy as np
import typer
from _results import write_results
from _stage import load_params, stage

from pipeline import usage
from pipeline.engine import predict
from pipeline.engine.examples import make_examples
from pipeline.engine.infer import top_k
from pipeline.io import read_table
from pipeline.paths import Artifacts, model_dir


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `teacher`, `evaluate`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
    models: Path = typer.Option("models", help="Where the trained model directory is."),
    out: Path = typer.Option(Path("metrics"), help="Where the metrics go."),
) -> None:
    """Predict the test split with the trained model and score it."""
    with stage("evaluate"):
        p = load_params(params)
        name, o, art = p["dataset"], p["evaluate"], Artifacts(data, p["dataset"])
        pred = predict.Predictor.load(model_dir(models, name), lift_parents=o.get("lift_parents", "auto"))
        docs = read_table(art.documents("test"), "documents")
        tokens = read_table(art.tokens("test"), "tokens")
        teach = read_table(art.teacher("test"), "teacher") if pred.model.cfg.teacher else None
        cost = dict(pred.config.get("usage", {}))
        with usage.timed(cost, "predict_s"):
            logits = pred.finish(pred.logits(make_examples(tokens, teach, docs, pred.outputs), progress=True))
        cost["predict_peak_mb"] = usage.peak_rss_mb()
        idx, scores = top_k(logits, o["top_k"])
        names = np.asarray(pred.outputs.to_pylist(), dtype=object)
        write_results(
            "treaderxml",
            name,
            docs,
            [names[row].tolist() for row in idx],
            [s.tolist() for s in scores],
            dict(zip(pred.space.labels.to_pylist(), pred.space.train_count.tolist())),
            pred.train_y.shape[0],
            o,
            art.predictions("treaderxml"),
            out,
            info={
                "reading": pred.model.cfg.reading,
                "teacher": pred.model.cfg.teacher,
                "members": len(pred.models),
                "lift_parents": pred.lift,
            },
            cost=cost,
        )


if __name__ == "__main__":
    typer.run(main)
