"""Stage `neighbours`: k nearest train texts of every text (Eq. 2) -> data/<dataset>/neighbours/.

Writes train.parquet and test.parquet (id, neighbours: train ids best first,
similarities: cosine), index.ann (the Annoy index, with the annoy backend) and
metrics/neighbours.json (Annoy's recall@k against exact search, query times).

`neighbours.vectors` (once or per dataset) picks what is compared: `word2vec`, the Eq. 1
vectors of the `embed` stage (the paper's), or `tfidf`, the `tfidf` stage's rows, searched
exactly (Annoy takes dense vectors only).
"""

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import typer
from _stage import load_params, stage

from pipeline import settings
from pipeline.io import atomic_dir, read_table, write_json, write_table
from pipeline.method import neighbours as nb
from pipeline.method.embed import table_vectors
from pipeline.paths import SPLITS, Artifacts


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `neighbours`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
    metrics: Path = typer.Option(Path("metrics/neighbours.json"), help="Where the recall/timing report goes."),
) -> None:
    """Search the train texts (Eq. 1 vectors or TF-IDF rows) for each text's nearest neighbours."""
    with stage("neighbours"):
        p = load_params(params)
        name, o = p["dataset"], p["neighbours"]
        if said := settings.describe(p, ("neighbours",)):
            typer.echo(said)
        vectors, art = nb.vectors_for(o.get("vectors")), Artifacts(data, name)
        if vectors == "tfidf":
            ids = {s: read_table(art.documents(s), "documents")["id"] for s in SPLITS}
            x = {s: sp.load_npz(art.tfidf(s)) for s in SPLITS}
        else:
            vec = {s: read_table(art.vectors(s), "vectors") for s in SPLITS}
            ids, x = {s: v["id"] for s, v in vec.items()}, {s: table_vectors(v) for s, v in vec.items()}
        tr_i, tr_s, te_i, te_s, index, report = nb.find_neighbours(
            x["train"],
            x["test"],
            k=o["k"],
            backend=o["backend"],
            n_trees=o["n_trees"],
            search_k=o["search_k"],
            seed=o["seed"],
            recall_sample=o["recall_sample"],
        )
        train_ids = np.asarray(ids["train"].to_pylist(), dtype=object)
        with atomic_dir(art.neighbours_dir) as out:
            write_table(
                nb.neighbour_table(ids["train"], tr_i, tr_s, train_ids),
                out / art.neighbours("train").name,
                "neighbours",
            )
            write_table(
                nb.neighbour_table(ids["test"], te_i, te_s, train_ids), out / art.neighbours("test").name, "neighbours"
            )
            if index is not None:
                index.save(out / art.annoy_index.name)
        write_json({"dataset": name, "vectors": vectors, **report}, metrics)
        typer.echo(f"{name}: {report}")


if __name__ == "__main__":
    typer.run(main)
