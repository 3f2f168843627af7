"""Stage `teacher`: teacher sets and sequences (Algorithm 1) -> data/<dataset>/teacher/.

Writes train.parquet and test.parquet (id, neighbours, similarities,
teacher_labels, teacher_votes, teacher_tokens) and stats.json (set sizes, and how many of a
text's true labels its teacher set holds).
"""

from pathlib import Path

import typer
from _stage import load_params, stage

from pipeline.io import atomic_dir, read_table, write_json, write_table
from pipeline.method import teacher as tk
from pipeline.paths import SPLITS, Artifacts


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (`dataset`, `teacher_set`)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Build each text's teacher set from its neighbours' labels and their parents."""
    with stage("teacher"):
        p = load_params(params)
        name, o = p["dataset"], p["teacher_set"]
        art = Artifacts(data, name)
        docs = {s: read_table(art.documents(s), "documents") for s in SPLITS}
        neigh = {s: read_table(art.neighbours(s), "neighbours") for s in SPLITS}
        tables, stats = tk.build_teacher_tables(
            docs,
            neigh,
            read_table(art.labels, "labels"),
            read_table(art.label_tokens, "label_tokens"),
            parents=o["parents"],
            mode=o["mode"],
            max_labels=o["max_labels"],
            max_len=o["max_len"],
        )
        with atomic_dir(art.teacher_dir) as out:
            for split, table in tables.items():
                write_table(table, out / art.teacher(split).name, "teacher")
            write_json(stats, out / "stats.json")
        typer.echo(f"{name}: teacher sets {stats}")


if __name__ == "__main__":
    typer.run(main)
