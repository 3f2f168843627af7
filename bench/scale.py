"""How each stage grows with the corpus: wall time and peak memory at several sizes of a synthetic
corpus of a benchmark's shape, the growth exponent between sizes, and the projection to full size.

    python bench/scale.py --shape amazoncat13k --sizes 10000 20000 40000
    python bench/scale.py --sizes 1000 2000 --stages prepare,tokenise,tfidf --set embed.epochs=2

For each size it writes the corpus (`treader synth`, test texts in the shape's proportion, every
label of the shape), runs the stage scripts one after the other on it as `dvc repro` would (each
in a process of its own, timed with GNU time: wall seconds and peak resident memory), and prints
one table. The exponent b of a stage is log(t2 / t1) / log(n2 / n1) between the smallest and the
largest size (1: linear); the projection is the largest size's figure times (N / n)^b, N the
shape's train texts. Nothing here reads the test split's labels for anything but the stages'
own metrics.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import typer
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.data import synth  # noqa: E402

from _inputs import apply  # noqa: E402

STAGES = ("check", "prepare", "tokenise", "tfidf", "embed", "neighbours", "teacher", "knn", "peers")
PEERS = ("parabel", "bonsai", "plt")
NEEDS = {"prepare": "check", "tokenise": "prepare", "tfidf": "tokenise", "embed": "tokenise", "neighbours": "embed",
         "teacher": "neighbours", "knn": "neighbours", "peers": "tfidf"}  # fmt: skip


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak resident MiB, stderr) of ``cmd`` under GNU time; raises on failure."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        res = subprocess.run(
            ["/usr/bin/time", "-o", out.name, "-f", "%e %M", *cmd], cwd=cwd, capture_output=True, text=True
        )
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"{Path(cmd[1]).name if len(cmd) > 1 else cmd[0]} failed ({res.returncode}): {last}")
        wall, rss_kb = Path(out.name).read_text().split()[-2:]
    return float(wall), float(rss_kb) / 1024, res.stderr


def run_size(shape: synth.Shape, n: int, stages: list[str], sets: list[str], work: Path, seed: int) -> dict:
    test = max(1, round(n * shape.test / shape.train))
    corpus = work / f"corpus-{n}"
    make = (
        f"from pipeline.data import synth; synth.write({str(corpus)!r}, "
        f"synth.shape_of({shape.name!r}, train={n}, test={test}), seed={seed}, progress=False)"
    )
    t_synth = timed([sys.executable, "-c", make], REPO)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params = apply({**copy.deepcopy(params), "dataset": "folder"}, [f"folder.path={corpus}", *sets])
    pfile = work / f"params-{n}.yaml"
    pfile.write_text(yaml.safe_dump(params))
    data, models, metrics = work / f"data-{n}", work / f"models-{n}", work / f"metrics-{n}"
    common = ["--params", str(pfile)]
    rows = {"synth": t_synth[:2]}
    for stage in stages:
        steps = [(stage, [stage])] if stage != "peers" else [(f"{k}@{m}", [k, m]) for m in PEERS
                                                              for k in ("peer_train", "peer_predict")]  # fmt: skip
        for name, (script, *args) in steps:
            extra = ["--data", str(data)]
            if script in ("peer_train", "peer_predict"):
                extra += ["--models", str(models)]
            if script == "peer_predict":
                extra += ["--out", str(metrics)]
            if script == "neighbours":
                extra += ["--metrics", str(metrics / "neighbours.json")]
            if script == "knn":
                extra += [
                    "--metrics",
                    str(metrics / "knn.json"),
                    "--neighbour-metrics",
                    str(metrics / "neighbours.json"),
                ]
            wall, rss, _ = timed([sys.executable, str(REPO / "stages" / f"{script}.py"), *args, *common, *extra], work)
            rows[name] = (wall, rss)
            typer.echo(f"  {n:>9,} train texts  {name:22s} {wall:8.1f} s  {rss:8.0f} MiB", err=True)
    return {"train": n, "test": test, "rows": rows}


def exponent(a: float, b: float, n1: int, n2: int) -> float:
    return math.log(max(b, 1e-3) / max(a, 1e-3)) / math.log(n2 / n1)


def main(
    shape: str = typer.Option("amazoncat13k", help="eurlex4k | wiki10-31k | amazoncat13k"),
    sizes: list[int] = typer.Option([10_000, 20_000, 40_000], "--sizes", help="Train texts, two or more, ascending."),
    stages: str = typer.Option(",".join(STAGES), help="Comma-separated, in pipeline order (peers: all three)."),
    set: list[str] = typer.Option([], "--set", help="section.key=value over params.yaml (repeatable)."),
    seed: int = 13,
    work: Path = typer.Option(None, help="Keep the corpora and artifacts here (default: a temporary folder)."),
    json_out: Path = typer.Option(None, "--json", help="Also write the figures as JSON here."),
) -> None:
    """Time every stage at several corpus sizes and project to the shape's full size."""
    full = synth.shape_of(shape)
    chosen = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in STAGES]
    if unknown or len(sizes) < 2 or sorted(sizes) != list(sizes):
        raise typer.BadParameter(
            f"stages from {', '.join(STAGES)}; two or more ascending sizes (got {unknown}, {sizes})"
        )
    missing = [f"{s} needs {NEEDS[s]}" for s in chosen if s in NEEDS and NEEDS[s] not in chosen]
    if missing:
        raise typer.BadParameter("; ".join(missing))
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        root = work or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        try:
            runs = [run_size(full, n, chosen, set, root, seed) for n in sizes]
        except RuntimeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    first, last = runs[0], runs[-1]
    trains = ", ".join(f"{r['train']:,}" for r in runs)
    typer.echo(f"{shape}: {full.labels} labels; train texts {trains}; projection to {full.train:,} train / "
               f"{full.test:,} test; {' '.join(set) or 'params.yaml'}")  # fmt: skip
    head = "".join(f"{format(r['train'], ',') + ' s':>11s}{'MiB':>8s}" for r in runs)
    typer.echo(f"{'stage':22s}{head}{'b time':>8s}{'b mem':>7s}{'full s':>10s}{'full MiB':>10s}")
    out = []
    for name in first["rows"]:
        cells = [r["rows"][name] for r in runs]
        bt = exponent(cells[0][0], cells[-1][0], first["train"], last["train"])
        bm = exponent(cells[0][1], cells[-1][1], first["train"], last["train"])
        scale = full.train / last["train"]
        proj_t, proj_m = cells[-1][0] * scale**bt, cells[-1][1] * scale**bm
        row = "".join(f"{t:11.1f}{m:8.0f}" for t, m in cells)
        typer.echo(f"{name:22s}{row}{bt:8.2f}{bm:7.2f}{proj_t:10.0f}{proj_m:10.0f}")
        out.append({"stage": name, "seconds": [c[0] for c in cells], "peak_mib": [c[1] for c in cells],
                    "b_time": bt, "b_mem": bm, "full_s": proj_t, "full_mib": proj_m})  # fmt: skip
    if json_out:
        json_out.write_text(json.dumps({"shape": shape, "sizes": sizes, "set": set, "stages": out}, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
