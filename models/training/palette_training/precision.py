"""Which precision a run trains in: bf16 autocast where the hardware runs it natively, fp32 elsewhere.

bf16 autocast trains 1.75–2× faster than fp32 on CPUs with AVX-512 BF16 or AMX and on CUDA GPUs with
bf16 (models/README.md, "Training speed"). On a CPU without them PyTorch emulates bf16 and a training
step is 20–40× slower than fp32 (the `small` preset at 64²: 0.22 against 4.8 samples/s on an AVX2-only
AMD EPYC, 2026-12-08), so asking for bf16 "by default" must not mean asking for that.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from pathlib import Path

import torch

FAST_BF16_CPU_FLAGS = re.compile(r"\b(avx512_bf16|amx_bf16)\b")


def cpu_has_fast_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True where the CPU computes in bf16 natively (AVX-512 BF16 or AMX); unreadable info counts as no."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    return FAST_BF16_CPU_FLAGS.search(text) is not None


def device_has_fast_bf16(device: torch.device, cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_fast_bf16(cpuinfo)


def resolve_bf16(requested: bool | None, device: torch.device,
                 cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[bool, str]:
    """The run's precision from TrainConfig.bf16 (None: where it is fast; True/False: as asked) and a
    line that says why, printed at the start of the run."""
    if requested is not None:
        return requested, f"precision: {'bf16 autocast' if requested else 'fp32'} (as asked)"
    if device_has_fast_bf16(device, cpuinfo):
        return True, "precision: bf16 autocast (native bf16 on this device)"
    where = "this CPU has no AVX-512 BF16 or AMX" if device.type == "cpu" else f"{device.type} has no native bf16"
    return False, f"precision: fp32 ({where}: emulated bf16 would be 20-40x slower; --bf16 forces it)"


def autocast_context(device: torch.device, bf16: bool):
    """bf16 autocast on any device: matmuls and convolutions in bf16, weights, optimizer and loss in fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
