"""Training throughput side by side: the data pipeline alone, the training step alone, fp32 vs bf16.

    python -m palette_training train-bench --data ../../data/photos/train [--preset small --resolution 64]

Each configuration is timed `--repeats` times, interleaved (fp32, bf16, fp32, bf16, …) so a noisy
machine slows both alike, and the median is reported with the bf16/fp32 ratio. The training step is
exactly the loop's (forward under autocast, loss in fp32, backward, clip, AdamW, EMA) on one fixed
batch, so the data pipeline is not in its figure; the data pipeline's figure is batches per second
from `batches()` with 0 and N workers. `--loss-steps K` also trains K steps both ways from the same
weights on the same batches and prints both loss curves (bf16 must follow fp32).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import numpy as np
import torch

from .config import PRESETS, TrainConfig
from .data import PhotoSet, ScaleBuckets, TaskExamples, batches
from .diffusion import TrainingSchedule, noisy_target, sample_gamma
from .precision import autocast_context, device_has_fast_bf16
from .train import optimise
from .unet import PaletteUNet


def make_trainer(preset: str, prediction: str, seed: int = 0):
    torch.manual_seed(seed)
    cfg = PRESETS[preset]
    model = PaletteUNet(type(cfg)(**{**cfg.__dict__, "prediction": prediction}))
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    return model, ema, optimizer


BENCH_CFG = TrainConfig(lr=1e-4, warmup_steps=1)  # constant rate: the bench times steps, not a schedule


def train_step(model, ema, optimizer, batch: dict, step: int, bf16: bool, gammas: torch.Tensor) -> float:
    """One step of the training loop (train.optimise, the loop's own), returning the loss."""
    torch.manual_seed(step)
    y0, cond, hole = batch["y"], batch["cond"], batch["hole"]
    gamma = sample_gamma(gammas, y0.shape[0])
    noise = torch.randn(y0.shape)
    y_t = noisy_target(y0, gamma, noise, known=1 - hole)
    per_sample = optimise(model, model, ema, optimizer, cond, y_t, gamma, noise, hole, BENCH_CFG, step, 0,
                          autocast_context(torch.device("cpu"), bf16))
    return per_sample.mean().item()


def time_steps(preset: str, batch: dict, steps: int, bf16: bool, gammas: torch.Tensor) -> float:
    """Samples/s of `steps` training steps after one warm-up step."""
    model, ema, optimizer = make_trainer(preset, "v")
    train_step(model, ema, optimizer, batch, 0, bf16, gammas)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        train_step(model, ema, optimizer, batch, step, bf16, gammas)
    return steps * batch["y"].shape[0] / (time.perf_counter() - start)


def time_data(dataset: TaskExamples, buckets: ScaleBuckets, workers: int, n_batches: int) -> float:
    it = batches(dataset, 0, buckets, 0, workers)
    next(it)  # workers start, first batch
    start = time.perf_counter()
    samples = sum(next(it)["y"].shape[0] for _ in range(n_batches))
    return samples / (time.perf_counter() - start)


def loss_curves(preset: str, dataset: TaskExamples, buckets: ScaleBuckets, steps: int,
                gammas: torch.Tensor) -> dict[str, list[float]]:
    """The same weights, batches and noise trained in fp32 and in bf16."""
    curves = {}
    for name, bf16 in (("fp32", False), ("bf16", True)):
        model, ema, optimizer = make_trainer(preset, "v")
        it = batches(dataset, 0, buckets, 0, 0)
        curves[name] = [train_step(model, ema, optimizer, next(it), step, bf16, gammas) for step in range(steps)]
    return curves


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="palette_training train-bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--preset", default="small", choices=sorted(PRESETS))
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=6, help="timed steps per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, default=1, help="DataLoader workers for the data figure")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--loss-steps", type=int, default=0)
    p.add_argument("--json", default="", help="also write the figures to this file")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    photos = PhotoSet(args.data, 384)
    dataset = TaskExamples(photos, args.resolution, TrainConfig().task_mix(), 0.35, 0)
    buckets = ScaleBuckets(args.resolution, args.batch_size)
    batch = next(batches(dataset, 0, buckets, 0, 0))
    gammas = torch.from_numpy(TrainingSchedule().gammas())

    # Said before timing: without native bf16 the bf16 runs are emulated and take minutes a step.
    native = device_has_fast_bf16(torch.device("cpu"))
    print(f"preset {args.preset}, {args.resolution}×{args.resolution}, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats} × {args.steps} steps; "
          + ("this CPU computes bf16 natively" if native else
             "this CPU has no AVX-512 BF16 or AMX: bf16 is emulated (20-40x slower; training uses fp32 here)"),
          flush=True)
    rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for _ in range(args.repeats):
        for name, bf16 in (("fp32", False), ("bf16", True)):
            rates[name].append(time_steps(args.preset, batch, args.steps, bf16, gammas))
    data_rates = {f"{w} workers": time_data(dataset, buckets, w, 20) for w in (0, args.workers)}
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"{'configuration':<34}{'samples/s':>10}")
    print(f"{'training step, fp32':<34}{med['fp32']:>10.1f}   runs {', '.join(f'{r:.1f}' for r in rates['fp32'])}")
    bf16_runs = ", ".join(f"{r:.1f}" for r in rates["bf16"])
    print(f"{'training step, bf16 autocast':<34}{med['bf16']:>10.1f}   runs {bf16_runs}")
    print(f"{'bf16 / fp32':<34}{med['bf16'] / med['fp32']:>10.2f}×")
    for name, rate in data_rates.items():
        print(f"{'data pipeline alone, ' + name:<34}{rate:>10.1f}")
    report = {"preset": args.preset, "resolution": args.resolution, "batch_size": args.batch_size,
              "threads": torch.get_num_threads(), "native_bf16": native, "train_samples_per_s": rates, "median": med,
              "bf16_over_fp32": med["bf16"] / med["fp32"], "data_samples_per_s": data_rates}
    if args.loss_steps:
        curves = loss_curves(args.preset, dataset, buckets, args.loss_steps, gammas)
        f, b = np.array(curves["fp32"]), np.array(curves["bf16"])
        print(f"loss over {args.loss_steps} steps: fp32 mean {f.mean():.4f}, bf16 mean {b.mean():.4f}, "
              f"mean |Δ|/fp32 {np.mean(np.abs(b - f) / f):.3%}; "
              f"last 5: fp32 {f[-5:].mean():.4f}, bf16 {b[-5:].mean():.4f}")
        report["loss_curves"] = curves
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0
