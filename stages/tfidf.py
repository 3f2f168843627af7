"""Stage `tfidf`: TF-IDF features of the tokenised splits for the peers, fitted on train only.

Writes data/<dataset>/tfidf/{train,test}.npz (scipy CSR, one row per text in the
prepared documents' order, checked) and idf.npy.
"""

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import typer
from _stage import load_params, stage

from pipeline.data import tfidf
from pipeline.errors import DataError
from pipeline.io import atomic_dir, read_table
from pipeline.paths import SPLITS, Artifacts


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `tfidf`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Turn token ids into L2-normalised TF-IDF rows (idf from the train split)."""
    with stage("tfidf"):
        p = load_params(params)
        cfg, art = tfidf.TfidfConfig.from_dict(p["tfidf"]), Artifacts(data, p["dataset"])
        n_features = read_table(art.vocab, "vocab").num_rows
        counts = {}
        for s in SPLITS:
            tokens = read_table(art.tokens(s), "tokens")
            if tokens["id"] != read_table(art.documents(s), "documents")["id"]:
                raise DataError(
                    "tokens and prepared documents are in different orders; rerun `dvc repro tokenise`", art.tokens(s)
                )
            counts[s] = tfidf.counts(tokens["tokens"], n_features)
        idf = tfidf.fit_idf(counts["train"], cfg)
        with atomic_dir(art.tfidf_dir) as out:
            for split, c in counts.items():
                sp.save_npz(out / art.tfidf(split).name, tfidf.transform(c, idf, cfg))
            np.save(out / art.idf.name, idf)
        typer.echo(f"{p['dataset']}: {int((idf > 0).sum())} TF-IDF features")


if __name__ == "__main__":
    typer.run(main)
