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
from pipeline.paths import table_plot, table_report, table_runs
from pipeline.report import tables


def main(
    table: int = typer.Argument(..., help="2, 3 or 4."),
    reports: Path = typer.Option(Path("reports"), help="Where the runs file is and the reports go."),
) -> None:
    """Render one table from its collected runs."""
    with stage(f"report table {table}"):
        src = table_runs(reports, table)
        if not src.exists():
            raise DataError(f"no collected runs; run `treader table {table}`", src)
        runs = json.loads(src.read_text())["runs"]
        render = {2: tables.table2, 3: tables.table3, 4: tables.table4}[table]
        md, page = table_report(reports, table, ".md"), table_report(reports, table, ".html")
        for path, text in ((md, render(runs)), (page, tables.html(runs, table))):
            with atomic_file(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
        for kind, rows in tables.plot_rows(runs, table).items():
            write_json(rows, table_plot(reports, table, kind))
        typer.echo(f"wrote {md} and {page}")


if __name__ == "__main__":
    typer.run(main)
