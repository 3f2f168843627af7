"""Stage `check`: every parameter's domain, checked before any other stage does work.

`prepare` reads this stage's marker, so every stage of the corpus's pipeline comes after it: a bad
`-S` (`-S embed.dim=7`, `-S evaluate.ks=[0]`) fails here in seconds with one line, and, since a
stage's outputs are removed only when that stage runs, the artifacts of the last good run stay in
the workspace. The marker's content never changes, so passing the check reruns nothing after it.
"""

from pathlib import Path

import typer
from _stage import load_params, stage

from pipeline.checks import check_params
from pipeline.io import atomic_file
from pipeline.paths import Artifacts


def main(
    params: Path = typer.Option("params.yaml", help="Parameter file (every section)."),
    data: Path = typer.Option("data", help="Root folder of the pipeline's artifacts."),
) -> None:
    """Check every setting in the parameter file against its domain."""
    with stage("check"):
        p = load_params(params)
        check_params(p)
        with atomic_file(Artifacts(data, p["dataset"]).checked) as tmp:
            tmp.write_text("every setting of params.yaml is in its domain (stages/check.py)\n", encoding="utf-8")
        typer.echo(f"{p['dataset']}: every setting is in its domain")


if __name__ == "__main__":
    typer.run(main)
