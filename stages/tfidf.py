"""Stage `tfidf`: TF-IDF features of the tokenised splits for the peers, fitted on train only.

Writes data/<dataset>/tfidf/{train,test}.npz (scipy CSR, one row per text in the
prepared documents' order, checked) and idf.npy.
"""

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import typer
from _stage import load_params, stage

from pipeline import tfidf
from pipeline.errors import DataError
from pipeline.io import atomic_dir, read_table


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `tfidf`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Turn token ids into L2-normalised TF-IDF rows (idf from the train split)."""
    with stage("tfidf"):
        p = load_params(params)
        cfg, root = tfidf.TfidfConfig.from_dict(p["tfidf"]), data / p["dataset"]
        n_features = read_table(root / "tokens" / "vocab.parquet", "vocab").num_rows
        counts = {}
        for s in ("train", "test"):
            tokens = read_table(root / "tokens" / f"{s}.parquet", "tokens")
            if tokens["id"] != read_table(root / "prepared" / f"{s}.parquet", "documents")["id"]:
                raise DataError("tokens and prepared documents are in different orders; rerun `dvc repro tokenise`", root / "tokens" / f"{s}.parquet")
            counts[s] = tfidf.counts(tokens["tokens"], n_features)
        idf = tfidf.fit_idf(counts["train"], cfg)
        with atomic_dir(root / "tfidf") as out:
            for split, c in counts.items():
                sp.save_npz(out / f"{split}.npz", tfidf.transform(c, idf, cfg))
            np.save(out / "idf.npy", idf)
        typer.echo(f"{p['dataset']}: {int((idf > 0).sum())} TF-IDF features")


if __name__ == "__main__":
    typer.run(main)
