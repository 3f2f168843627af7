"""Training throughput (documents per second) of the default configuration, fp32 and bf16.

    python bench/train_speed.py --dataset reuters21578 --batches 40
    python bench/train_speed.py --set model.attention_dropout=0.2 --no-bf16

Needs the `teacher` artifacts of the dataset. Times `--batches` training steps (after
`--warmup` untimed ones) on length-bucketed batches of the train split, exactly as
`stages/train.py` builds them, and prints one line per precision, after the CPU's model and
whether it computes bf16 natively (`train.bf16: auto` picks fp32 on every CPU: these timings
are why). `--set section.key=value`
overrides params.yaml as in `tune_train.py`; `--no-bf16` times fp32 only.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import typer
import yaml
from _inputs import train_inputs
from tune_train import apply

from pipeline.model import TReaderXML
from pipeline.train import _optimizers, bucketed_batches, native_bf16, train_step


def main(dataset: str = "reuters21578", data: Path = Path("data"), params: Path = Path("params.yaml"),
         batches: int = 40, warmup: int = 5, reading: str = "", teacher: bool = True,
         set: list[str] = typer.Option([], "--set", help="section.key=value override (repeatable)"),
         bf16: bool = typer.Option(True, help="also time bf16 autocast (slow where the CPU emulates it)")) -> None:
    """Time training steps of the default configuration (with overrides) in fp32 and bf16."""
    p = apply({**yaml.safe_load(params.read_text()), "teacher": teacher, **({"reading": reading} if reading else {})}, set)
    ex, emb, mcfg, cfg, _ = train_inputs(data / dataset, p)
    typer.echo(f"{dataset}: {len(ex)} texts, mean {ex.text.lengths.mean():.0f} text + "
               f"{0 if ex.teacher is None else ex.teacher.lengths.mean():.0f} teacher tokens, batch {cfg.batch_size}, "
               f"{torch.get_num_threads()} threads")
    native = native_bf16(torch.device("cpu"))
    typer.echo(f"CPU: {_cpu_model()}, {torch.backends.cpu.get_cpu_capability()}, native bf16: {'yes' if native else 'no'} "
               "(train.bf16 auto picks fp32 on a CPU)")
    if set:
        typer.echo(" ".join(set))
    for half in (False, True)[: 2 if bf16 else 1]:
        torch.manual_seed(0)
        model = TReaderXML(mcfg, emb)
        opts = _optimizers(model, cfg.lr, cfg.embedding_lr)
        plan = bucketed_batches(ex.lengths(), cfg.batch_size, cfg.bucket, np.random.default_rng(0))[: warmup + batches]
        seen, took = 0, 0.0
        for i, idx in enumerate(plan):
            start = time.perf_counter()
            cpu = torch.device("cpu")
            train_step(model, opts, *ex.tensors(idx, cpu), bf16=half, prior=ex.prior_batch(idx, cpu))
            if i >= warmup:
                seen, took = seen + len(idx), took + time.perf_counter() - start
        typer.echo(f"{'bf16' if half else 'fp32'}: {seen / took:.1f} docs/s ({seen} docs in {took:.1f} s)")


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
