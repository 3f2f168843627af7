"""The paper's Tables 2, 3 and 4 as Markdown, and their pictures, from collected runs.

A *run* is one pipeline run (one `dvc exp`), collected by `pipeline/runs.py` into a
plain dict: its dataset, switches, provenance (split, seed, sizes, git revisions),
every method's metrics, tail views and training curves. Everything here is pure:
runs in, strings and plot rows out.
"""

from __future__ import annotations

from pipeline.report import plots, published

METHODS = ("parabel", "bonsai", "plt", "knn", "treaderxml")
NAMES = {
    "parabel": "Parabel (omikuji)",
    "bonsai": "Bonsai (omikuji)",
    "plt": "PLT (napkinXC)",
    "knn": "kNN teacher (ours)",
    "treaderxml": "TReaderXML (ours)",
}
T2 = published.TABLE2_COLUMNS  # the paper's columns are the metrics we measure
T4 = ("PSP@1", "PSP@3", "PSP@5")
COSTS = (
    ("train_s", "train s"),
    ("predict_s", "predict s"),
    ("train_peak_mb", "train MiB"),
    ("predict_peak_mb", "predict MiB"),
)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.2f}%"


def _cost(v) -> str:
    return "n/m" if v is None else (f"{v:.1f}" if v < 100 else f"{v:.0f}")


def _value(method: dict, key: str):
    """A method's figure; its "train s" is the training's clock time (``train_wall_s``) where the run recorded one:
    with train.jobs the ensemble members train at once and ``train_s`` sums their separate times."""
    if key == "train_s" and method.get("train_wall_s") is not None:
        return method["train_wall_s"]
    return method.get(key)


def _bold_best(rows: list[list[str]], values: list[list[float | None]], first: int) -> list[list[str]]:
    """Bold the largest value of each metric column (ties all bold)."""
    for c in range(len(values[0]) if values else 0):
        col = [v[c] for v in values if v[c] is not None]
        if not col:
            continue
        best = max(col)
        for r, v in zip(rows, values):
            if v[c] is not None and abs(v[c] - best) < 1e-12:
                r[first + c] = f"**{r[first + c]}**"
    return rows


def _md(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def provenance(run: dict) -> list[str]:
    """Dataset, split sizes, seed and revision of a measured row."""
    sizes = run.get("sizes") or {}
    rev = run["baseline"][:7] + (f" (exp {run['commit'][:7]})" if run.get("commit") else "")
    return [
        run["dataset"],
        f"{sizes.get('train', '?')} / {sizes.get('test', '?')}",
        f"{run['split']}; train seed {run['train_seed']}",
        rev,
    ]


PROV = ["Dataset", "Train / test", "Split; seed", "Revision"]


def _published(title: str, header: list[str], rows: list[tuple]) -> str:
    return (
        f"### {title}\n\n*Published figures, copied verbatim from the paper (typos and gaps included). They were "
        "measured on other corpora (AmazonCat-13K, EURLex-4K, the full RCV1) with other features and budgets: "
        "read them beside our rows, not against them.*\n\n" + _md(header, [list(r) for r in rows])
    )


def _methods(run: dict, keys: tuple[str, ...], costs: tuple = ()) -> str:
    """One run's methods as a Markdown table: the metrics ``keys`` (best in bold), ``costs``, provenance."""
    methods = [m for m in METHODS if m in run["methods"]]
    vals = [[run["methods"][m].get(k) for k in keys] for m in methods]
    rows = [
        [NAMES[m], *(_pct(v) for v in vs), *(_cost(_value(run["methods"][m], c)) for c, _ in costs), *provenance(run)]
        for m, vs in zip(methods, vals)
    ]
    return _md(["Method", *keys, *(h for _, h in costs), *PROV], _bold_best(rows, vals, 1))


def table2(runs: list[dict]) -> str:
    parts = ["# Table 2: every method on every corpus\n", _intro()]
    for run in runs:
        parts += [f"## {run['dataset']}\n", _methods(run, T2, COSTS), ""]
    parts.append(_published("The paper's Table 2", ["Dataset", "Method", *published.TABLE2_COLUMNS], published.TABLE2))
    return "\n".join(parts) + "\n"


def table3(runs: list[dict]) -> str:
    parts = ["# Table 3: ablation of the teacher knowledge and the Reading part\n", _intro()]
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        by_config = {r["config"]: r for r in runs if r["dataset"] == dataset}
        configs = [c for c in published.CONFIGS if c[0] in by_config]
        vals = [[by_config[c[0]]["methods"]["treaderxml"].get(k) for k in T2] for c in configs]
        rows = [
            [
                str(i),
                "True" if t else "-",
                "-" if reading == "none" else reading,
                *(_pct(v) for v in vs),
                _cost(_value(by_config[i]["methods"]["treaderxml"], "train_s")),
                *provenance(by_config[i]),
            ]
            for (i, t, reading), vs in zip(configs, vals)
        ]
        parts += [
            f"## {dataset}\n",
            _md(["Config", "Teacher", "Reading", *T2, "train s", *PROV], _bold_best(rows, vals, 3)),
            "",
        ]
    parts.append(
        _published(
            "The paper's Table 3 (AmazonCat-13K)", ["Config. ID", "teacher knowledge", "Reading", *T2], published.TABLE3
        )
    )
    return "\n".join(parts) + "\n"


def table4(runs: list[dict]) -> str:
    parts = ["# Table 4: propensity-scored precision (tail labels)\n", _intro()]
    for run in runs:
        methods = [m for m in METHODS if m in run["methods"]]
        parts += [f"## {run['dataset']}\n", _methods(run, T4), ""]
        bins = [b["bin"] for b in run["tails"].get(methods[-1], [])] if methods else []
        if bins:
            tail_vals = [
                [next((b["P@5"] for b in run["tails"].get(m, []) if b["bin"] == name), None) for name in bins]
                for m in methods
            ]
            tail_rows = [[NAMES[m], *(_pct(v) for v in vs)] for m, vs in zip(methods, tail_vals)]
            parts += [
                f"P@5 counting only hits on labels of each training-frequency bin (they sum to P@5), {run['dataset']}:\n",
                _md(["Method", *(f"N_l {b}" for b in bins)], _bold_best(tail_rows, tail_vals, 1)),
                "",
            ]
    parts.append(_published("The paper's Table 4 (AmazonCat-13K)", ["Method", *T4], published.TABLE4))
    return "\n".join(parts) + "\n"


def _intro() -> str:
    return (
        "Measured here, on the test split; percentages of the standard metrics (napkinXC's definitions), best "
        "per column in **bold**; costs are wall seconds and peak resident memory of the training and prediction "
        "processes on this machine (the network's train s: the clock time of its training, with ensemble members that "
        "train at once counted once; n/m: not measured separately). Each row names its dataset, split sizes, seed "
        "and the git revision (the baseline commit and its `dvc exp` commit) it came from.\n"
    )


# --- pictures ---------------------------------------------------------------------------------------


def plot_rows(runs: list[dict], table: int) -> dict[str, list[dict]]:
    """Rows for DVC plots (JSON lists): metrics of every method, the tail view, training curves."""
    metric_keys = T4 if table == 4 else T2
    bars, tails, curves = [], [], []
    for run in runs:
        label = run["dataset"] if table != 3 else f"{run['dataset']} config {run['config']}"
        for m in METHODS:
            if m not in run["methods"] or (table == 3 and m != "treaderxml"):
                continue
            for k in metric_keys:
                bars.append(
                    {
                        "run": label,
                        "method": m,
                        "metric": k,
                        "value": run["methods"][m].get(k),
                        "name": f"{label} / {m} / {k}",
                    }
                )
            for b in run["tails"].get(m, []):
                tails.append(
                    {"run": label, "method": m, "bin": b["bin"], "P@5": b["P@5"], "name": f"{label} / {m} / {b['bin']}"}
                )
        for step, (loss, val) in enumerate(zip(run["curves"].get("loss", []), run["curves"].get("val_nDCG_at_5", []))):
            curves.append({"run": label, "step": step, "loss": loss, "val_nDCG@5": val})
    return {"metrics": bars, "tail": tails, "curves": curves}


def html(runs: list[dict], table: int) -> str:
    """A self-contained page with the table's pictures (inline SVG, opens offline)."""
    rows = plot_rows(runs, table)
    sections = []
    for label in dict.fromkeys(r["run"] for r in rows["metrics"]):
        mine = [r for r in rows["metrics"] if r["run"] == label]
        group = "method" if table != 3 else None
        sections.append(
            (
                f"{label}: {'PSP@k' if table == 4 else 'P@k and nDCG@k'}",
                plots.bar_chart(mine, category="metric", value="value", group=group, value_format="{:.3f}"),
            )
        )
        tail = [r for r in rows["tail"] if r["run"] == label]
        if tail and table != 3:
            sections.append(
                (
                    f"{label}: P@5 by training frequency of the labels (the tail view)",
                    plots.bar_chart(
                        tail,
                        category="bin",
                        value="P@5",
                        group="method",
                        value_format="{:.4f}",
                        axis_max=1.1 * max(r["P@5"] for r in tail),
                    ),
                )
            )
    if table == 3:
        for key, name in (("val_nDCG@5", "validation nDCG@5"), ("loss", "training loss")):
            series = {}
            for r in rows["curves"]:
                series.setdefault(r["run"], []).append((r["step"] + 1, r[key]))
            sections.append(
                (f"Training curves: {name} per epoch", plots.line_chart(series, x_label="epoch", y_label=name))
            )
    titles = {2: "Table 2: every method", 3: "Table 3: the ablation", 4: "Table 4: tail labels"}
    return plots.page(
        titles[table], sections, note="Measured on the test split; see the Markdown table for provenance."
    )
