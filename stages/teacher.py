"""Stage `teacher`: teacher sets and sequences (Algorithm 1) -> data/<dataset>/teacher/.

Writes train.parquet and test.parquet (id, neighbours, similarities,
teacher_labels, teacher_votes, teacher_tokens) and stats.json (set sizes, and how many of a
text's true labels its teacher set holds).
"""

from pathlib import Path

import typer
from _stage import load_params, stage

from pipeline import teacher as tk
from pipeline.io import atomic_dir, read_table, write_json, write_table


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `teacher_set`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Build each text's teacher set from its neighbours' labels and their parents."""
    with stage("teacher"):
        p = load_params(params)
        name, o = p["dataset"], p["teacher_set"]
        prep, root = data / name / "prepared", data / name
        docs = {s: read_table(prep / f"{s}.parquet", "documents") for s in ("train", "test")}
        neigh = {s: read_table(root / "neighbours" / f"{s}.parquet", "neighbours") for s in ("train", "test")}
        tables, stats = tk.build_teacher_tables(
            docs, neigh, read_table(prep / "labels.parquet", "labels"),
            read_table(root / "tokens" / "labels.parquet", "label_tokens"),
            parents=o["parents"], mode=o["mode"], max_labels=o["max_labels"], max_len=o["max_len"],
        )
        with atomic_dir(root / "teacher") as out:
            for split, table in tables.items():
                write_table(table, out / f"{split}.parquet", "teacher")
            write_json(stats, out / "stats.json")
        typer.echo(f"{name}: teacher sets {stats}")


if __name__ == "__main__":
    typer.run(main)
