"""Stage `report@<table>`: reports/table<N>.md, its offline picture page and DVC plot data.

Reads reports/runs/table<N>.json (written by `treader table N`, which runs or reuses the
experiments) and writes reports/table<N>.md (measured rows beside the paper's published
ones), reports/table<N>.html (inline SVG, opens offline) and reports/plots/table<N>_*.json
(for `dvc plots show`).
"""

import json
from pathlib import Path

import typer
from _stage import stage

from pipeline.errors import DataError
from pipeline.io import atomic_file, write_json
from pipeline.report import tables


def main(
    table: int = typer.Argument(..., help="2, 3 or 4."),
    reports: Path = typer.Option(Path("reports"), help="Where the runs file is and the reports go."),
) -> None:
    """Render one table from its collected runs."""
    with stage(f"report table {table}"):
        src = reports / "runs" / f"table{table}.json"
        if not src.exists():
            raise DataError(f"no collected runs; run `treader table {table}`", src)
        runs = json.loads(src.read_text())["runs"]
        render = {2: tables.table2, 3: tables.table3, 4: tables.table4}[table]
        for name, text in ((f"table{table}.md", render(runs)), (f"table{table}.html", tables.html(runs, table))):
            with atomic_file(reports / name) as tmp:
                tmp.write_text(text, encoding="utf-8")
        for kind, rows in tables.plot_rows(runs, table).items():
            write_json(rows, reports / "plots" / f"table{table}_{kind}.json")
        typer.echo(f"wrote {reports / f'table{table}.md'} and {reports / f'table{table}.html'}")


if __name__ == "__main__":
    typer.run(main)
