"""Training throughput (documents per second) of the default configuration, fp32 and bf16.

    python bench/train_speed.py --dataset reuters21578 --batches 40
    python bench/train_speed.py --set model.attention_dropout=0.2 --no-bf16
    python bench/train_speed.py --no-bf16 --profile 15

Needs the `teacher` artifacts of the dataset. Times `--batches` training steps (after
`--warmup` untimed ones) on length-bucketed batches of the train split, exactly as
`stages/train.py` builds them, and prints one line per precision, after the CPU's model and
whether it computes bf16 natively (`train.bf16: auto` picks fp32 on every CPU: these timings
are why). `--set section.key=value`
overrides params.yaml as in `tune_train.py`; `--no-bf16` times fp32 only.

Two diagnostics for telling why one CPU trains slower than another: the `GEMM` line is the
machine's fp32 matrix-product rate through torch (its BLAS) at the shape of an attention
layer's input projection (a batch of 32 texts of ~140 tokens, d 128 -> 3 x 128) and at
2048^3, against numpy's BLAS at the same shapes; `--profile N` runs N more fp32 steps
under torch.profiler and prints the operators that took the most time.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import typer

from pipeline.engine.device import native_bf16
from pipeline.engine.examples import bucketed_batches
from pipeline.engine.loop import optimizers, train_step
from pipeline.method.model import TReaderXML

from _inputs import bench_params, train_inputs


def main(
    dataset: str = "reuters21578",
    data: Path = Path("data"),
    params: Path = Path("params.yaml"),
    batches: int = 40,
    warmup: int = 5,
    reading: str = "",
    teacher: bool = True,
    set: list[str] = typer.Option([], "--set", help="section.key=value override (repeatable)"),
    bf16: bool = typer.Option(True, help="also time bf16 autocast (slow where the CPU emulates it)"),
    profile: int = typer.Option(0, help="then profile this many fp32 steps and print the costliest operators"),
    top: int = typer.Option(15, help="operators the profile prints"),
) -> None:
    """Time training steps of the default configuration (with overrides) in fp32 and bf16."""
    p = bench_params(params, dataset, set, teacher=teacher, **({"reading": reading} if reading else {}))
    ex, emb, mcfg, cfg, _ = train_inputs(data / dataset, p)
    if cfg.threads:  # as stages/train.py does with train.threads
        torch.set_num_threads(cfg.threads)
    typer.echo(
        f"{dataset}: {len(ex)} texts, mean {ex.text.lengths.mean():.0f} text + "
        f"{0 if ex.teacher is None else ex.teacher.lengths.mean():.0f} teacher tokens, batch {cfg.batch_size}, "
        f"{torch.get_num_threads()} threads"
    )
    native = native_bf16(torch.device("cpu"))
    typer.echo(
        f"CPU: {_cpu_model()}, {torch.backends.cpu.get_cpu_capability()}, native bf16: {'yes' if native else 'no'} "
        "(train.bf16 auto picks fp32 on a CPU)"
    )
    typer.echo(
        "GEMM "
        + ", ".join(
            f"{m}x{k}x{n}: torch {torch_rate:.1f}, numpy {np_rate:.1f} GFLOP/s"
            for (m, k, n), torch_rate, np_rate in gemm_rates()
        )
    )
    if set:
        typer.echo(" ".join(set))

    def run(n: int, half: bool, profiler=None) -> tuple[int, float, int]:
        """``warmup`` untimed then ``n`` timed training steps of a fresh model, as the `train` stage
        batches them: (texts timed, seconds, batches planned)."""
        torch.manual_seed(0)
        model = TReaderXML(mcfg, emb)
        opts = optimizers(model, cfg.lr, cfg.embedding_lr)
        plan = bucketed_batches(ex.lengths(), cfg.batch_size, cfg.bucket, np.random.default_rng(0))[: warmup + n]
        cpu, seen, took = torch.device("cpu"), 0, 0.0
        for i, idx in enumerate(plan):
            if i == warmup and profiler is not None:
                profiler.start()
            start = time.perf_counter()
            train_step(model, opts, *ex.tensors(idx, cpu), bf16=half, prior=ex.prior_batch(idx, cpu))
            if i >= warmup:
                seen, took = seen + len(idx), took + time.perf_counter() - start
        if profiler is not None and len(plan) > warmup:
            profiler.stop()
        return seen, took, len(plan)

    for half in (False, True)[: 2 if bf16 else 1]:
        seen, took, planned = run(batches, half)
        if not seen:
            typer.echo(
                f"error: the train split has {planned} batches of {cfg.batch_size}: none left to time "
                f"after --warmup {warmup}",
                err=True,
            )
            raise typer.Exit(2)
        typer.echo(f"{'bf16' if half else 'fp32'}: {seen / took:.1f} docs/s ({seen} docs in {took:.1f} s)")
    if profile:
        prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
        seen, _, planned = run(profile, False, prof)
        typer.echo(f"profile of {planned - warmup} fp32 steps, by self CPU time:")
        typer.echo(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top))


def gemm_rates(shapes=((4480, 128, 384), (2048, 2048, 2048)), repeat: int = 5):
    """(shape, torch GFLOP/s, numpy GFLOP/s) of fp32 (m x k) @ (k x n) products, best of ``repeat``."""
    out = []
    for m, k, n in shapes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        rates = []
        for x, y in ((a, b), (a.numpy(), b.numpy())):
            x @ y  # warm-up
            best = min(_timed(lambda: x @ y) for _ in range(repeat))
            rates.append(2 * m * k * n / best / 1e9)
        out.append(((m, k, n), *rates))
    return out


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    typer.run(main)
