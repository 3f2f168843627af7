"""Where training and prediction run, and in which precision."""

from __future__ import annotations

import torch

from pipeline.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when torch sees a device, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name not in ("auto", "cpu", "cuda") and not str(name).startswith("cuda:"):
        raise ConfigError(f"device must be auto, cpu or cuda[:N], got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but torch sees no CUDA device (use 'auto' or 'cpu')")
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively: a CUDA device that supports it, or a CPU with
    AVX512-BF16 or AMX. Elsewhere autocast emulates bf16, which is slower than fp32."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        checks = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
        return any(bool(check()) for check in checks if check is not None)
    return False


def precision_note(device: torch.device, bf16: bool, asked) -> str:
    """One line on the precision training runs in, and why when ``asked`` (the setting) was auto."""
    why = (
        "the GPU computes bf16" if bf16 else "fp32 is faster on a CPU" if device.type == "cpu" else "the GPU lacks bf16"
    )
    return f"training on {device}, {'bf16 autocast' if bf16 else 'fp32'}" + (
        f" (train.bf16 auto: {why})" if asked == "auto" else ""
    )


def auto_bf16(device: torch.device) -> bool:
    """What ``train.bf16: auto`` picks: bf16 autocast on a CUDA device that computes bf16, fp32 on
    the CPU, where bf16 autocast measured slower than fp32 even with native bf16 (bench/train_speed.py)."""
    return device.type == "cuda" and native_bf16(device)
