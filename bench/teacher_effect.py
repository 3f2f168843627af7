"""Where does the teacher branch help or hurt? P@1 of prediction files, split by how good the teacher was.

    python bench/teacher_effect.py data/reuters21578/predictions/treaderxml.parquet off.parquet ...

Each test text falls in one group by its kNN teacher (data/<dataset>/predictions/knn.parquet,
the ranking whose labels make the teacher set): the teacher's first label is right; it is
wrong but a true label is somewhere in the teacher's top 5; no true label in its top 5. For
every prediction file it prints P@1 in each group and how often its first label is the
teacher's first label. An analysis of finished runs on the test split: it chooses nothing.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import typer

from pipeline.paths import Artifacts

GROUPS = ("teacher first right", "true label in teacher top 5", "none in teacher top 5")


def group_of(truth: set[str], teacher: list[str]) -> str:
    if teacher[:1] and teacher[0] in truth:
        return GROUPS[0]
    return GROUPS[1] if truth & set(teacher[:5]) else GROUPS[2]


def main(
    predictions: list[Path] = typer.Argument(
        ..., help="Prediction Parquet files (id, labels, scores) of the test split."
    ),
    dataset: str = typer.Option("reuters21578", help="Whose test split and kNN ranking."),
    data: Path = typer.Option(Path("data"), help="Root folder of the pipeline's artifacts."),
) -> None:
    """P@1 by teacher quality, for each prediction file."""
    art = Artifacts(data, dataset)
    truth = {r["id"]: set(r["labels"]) for r in pq.read_table(art.documents("test")).to_pylist()}
    knn = {r["id"]: r["labels"] for r in pq.read_table(art.predictions("knn")).to_pylist()}
    group = {i: group_of(truth[i], knn.get(i, [])) for i in truth}
    sizes = {g: sum(v == g for v in group.values()) for g in GROUPS}
    typer.echo(f"{dataset}: {len(truth)} test texts; " + ", ".join(f"{g}: {n}" for g, n in sizes.items()))
    typer.echo(f"{'file':40s} {'P@1':>6s} " + " ".join(f"{g[:22]:>22s}" for g in GROUPS) + "  same first as teacher")
    for path in predictions:
        pred = {r["id"]: r["labels"] for r in pq.read_table(path).to_pylist()}
        if set(pred) != set(truth):
            raise typer.BadParameter(f"{path} does not rank exactly the test split of {dataset}")
        hit = {i: bool(pred[i][:1]) and pred[i][0] in truth[i] for i in truth}
        by = [sum(hit[i] for i in truth if group[i] == g) / max(sizes[g], 1) for g in GROUPS]
        same = sum(bool(pred[i][:1]) and pred[i][:1] == knn.get(i, [])[:1] for i in truth) / len(truth)
        typer.echo(
            f"{str(path)[-40:]:40s} {sum(hit.values()) / len(truth):6.4f} "
            + " ".join(f"{v:22.4f}" for v in by)
            + f"  {same:21.4f}"
        )


if __name__ == "__main__":
    typer.run(main)
