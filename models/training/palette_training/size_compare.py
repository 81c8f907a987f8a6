"""Evidence for choosing the shipped model's size: FLOPs, measured throughput, an equal-compute race.

    python -m palette_training size-compare flops
    python -m palette_training size-compare bench [--threads 1] [--timed 3]
    python -m palette_training size-compare race [--budget-samples 6400] [--threads 1]
    python -m palette_training size-compare all --json size-comparison.json

`race` trains two presets from scratch on the same data and seed for the same budget of training FLOPs
(3 × forward FLOPs per sample × samples, the usual forward+backward estimate; `flops` also measures the
backward to check the factor), then scores both with `val-loss` on the same held-out inputs. It drives
the real `train` command in a subprocess, so what it measures is the pipeline that ships. A run that
already reached its step count is not retrained (train resumes), so an interrupted race continues.

FLOPs are counted by torch.utils.flop_counter (matmuls and convolutions; the element-wise work of norms
and activations is not counted). Unlike wall time they do not depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from .config import PRESETS, TrainConfig
from .diffusion import TrainingSchedule, eps_loss_per_sample, noisy_target, sample_gamma
from .train import ema_decay, learning_rate, update_ema
from .unet import PaletteUNet, count_parameters
from .val_loss import evaluate_checkpoint

# (preset, resolution) pairs of the throughput table: what a CPU run could pick from.
BENCH_CONFIGS: list[tuple[str, int]] = [("tiny", 64), ("small", 64), ("base", 64), ("small", 128), ("base", 128)]


def forward_flops(preset: str, resolution: int) -> dict:
    """Forward and forward+backward FLOPs per sample, counted on a batch of 2 (they scale linearly).
    On the meta device nothing is computed: shapes alone give the count, in a second, on a busy machine."""
    with torch.device("meta"):
        net = PaletteUNet(PRESETS[preset])
        x = torch.randn(2, 3, resolution, resolution)
        gamma = torch.rand(2)
    # The math backend spells attention out as matmuls the counter knows; the fused CPU kernel has no
    # FLOP formula and would be counted as zero.
    with sdpa_kernel(SDPBackend.MATH):
        with torch.no_grad(), FlopCounterMode(display=False) as fwd:
            net.eval()(x, x, gamma)
        with FlopCounterMode(display=False) as both:
            net.train()(x, x, gamma).square().mean().backward()
    return {"preset": preset, "resolution": resolution, "parameters": count_parameters(net),
            "forward_flops_per_sample": fwd.get_total_flops() / 2,
            "train_flops_per_sample_measured": both.get_total_flops() / 2}


def synthetic_batch(batch: int, resolution: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors shaped like a training batch: the step's arithmetic does not depend on the values.
    Half the samples have a hole over half the image, as inpaint/uncrop examples do."""
    g = torch.Generator().manual_seed(seed)
    hole = torch.ones(batch, 1, resolution, resolution)
    hole[: batch // 2, :, : resolution // 2] = 0
    return {"y": torch.rand(batch, 3, resolution, resolution, generator=g) * 2 - 1,
            "cond": torch.rand(batch, 3, resolution, resolution, generator=g) * 2 - 1, "hole": hole}


class TrainStep:
    """The body of train.py's loop (γ, ε, forward, ε-loss, backward, clip, AdamW, EMA) minus data loading."""

    def __init__(self, preset: str, resolution: int, batch: int) -> None:
        torch.manual_seed(0)
        self.cfg = TrainConfig(preset=preset, resolution=resolution, batch_size=batch, lr=3e-4, warmup_steps=50)
        self.model = PaletteUNet(PRESETS[preset]).train()
        self.ema = copy.deepcopy(self.model).requires_grad_(False).eval()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.cfg.lr)
        self.gammas = torch.from_numpy(TrainingSchedule().gammas())
        self.batch = synthetic_batch(batch, resolution)
        self.step = 0

    def __call__(self) -> float:
        started = time.perf_counter()
        y0, cond, hole = self.batch["y"], self.batch["cond"], self.batch["hole"]
        gamma = sample_gamma(self.gammas, y0.shape[0])
        noise = torch.randn(y0.shape)
        y_t = noisy_target(y0, gamma, noise, known=1 - hole)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.cfg, self.step)
        loss = eps_loss_per_sample(self.model(cond, y_t, gamma), noise, hole).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        update_ema(self.ema, self.model, ema_decay(self.cfg, self.step))
        self.step += 1
        return time.perf_counter() - started


def benchmark(configs: list[tuple[str, int]], threads: int, batch: int = 16, warmup: int = 1,
              timed: int = 3) -> list[dict]:
    """Median seconds per training step of each config. The configs take turns step by step, so a change
    in the machine's load (another training run) hits all of them alike instead of one."""
    torch.set_num_threads(threads)
    steps = {c: TrainStep(*c, batch) for c in configs}
    times: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
    for round_index in range(warmup + timed):
        for c in configs:
            seconds = steps[c]()
            if round_index >= warmup:
                times[c].append(seconds)
            print(f"bench {c[0]}@{c[1]} round {round_index}: {seconds:.2f}s", file=sys.stderr, flush=True)
    return [{"preset": p, "resolution": r, "threads": threads, "batch": batch,
             "step_seconds": [round(s, 3) for s in times[(p, r)]],
             "median_step_seconds": round(statistics.median(times[(p, r)]), 3),
             "samples_per_second": round(batch / statistics.median(times[(p, r)]), 2)} for p, r in configs]


def log_rates(run: Path) -> dict:
    """Training samples/s a run's loss.jsonl recorded (data loading, grids and checkpoints included):
    the median over its logging windows, and the run's total samples over its total wall time."""
    records = [json.loads(line) for line in (run / "loss.jsonl").read_text().splitlines()]
    config = json.loads((run / "config.json").read_text())
    pairs = zip(records[:-1], records[1:], strict=True)
    rates = [(b["samples_seen"] - a["samples_seen"]) / (b["wall_s"] - a["wall_s"])
             for a, b in pairs if b["step"] > a["step"] and b["wall_s"] > a["wall_s"]]
    return {"run": str(run), "preset": config["train"]["preset"], "resolution": config["train"]["resolution"],
            "samples": records[-1]["samples_seen"], "wall_s": records[-1]["wall_s"],
            "median_window_samples_per_second": round(statistics.median(rates), 2),
            "overall_samples_per_second": round(records[-1]["samples_seen"] / records[-1]["wall_s"], 2)}


def race_steps(flops: dict[str, float], presets: list[str], budget_samples: int, batch: int) -> dict[str, int]:
    """Steps per preset for the same training FLOPs as `budget_samples` samples of the first preset."""
    budget = 3 * flops[presets[0]] * budget_samples
    return {p: max(1, round(budget / (3 * flops[p]) / batch)) for p in presets}


def train_command(preset: str, steps: int, out: Path, args: argparse.Namespace) -> list[str]:
    # No sample grids (a grid at the last step is unconditional: 2 sampler steps keep it cheap), and a
    # checkpoint every 50 steps so an interrupted race resumes instead of starting over.
    return [sys.executable, "-m", "palette_training", "train", "--preset", preset, "--data", args.data,
            "--out", str(out), "--resolution", str(args.resolution), "--batch-size", str(args.batch),
            "--steps", str(steps), "--lr", str(args.lr), "--warmup-steps", str(args.warmup),
            "--ema-decay", "0.9999", "--seed", str(args.seed), "--sample-every", "1000000000",
            "--sample-steps", "2", "--ckpt-every", "50", "--log-every", "10", "--device", "cpu"]


def race(args: argparse.Namespace) -> dict:
    flops = {p: forward_flops(p, args.resolution)["forward_flops_per_sample"] for p in args.presets}
    steps = race_steps(flops, args.presets, args.budget_samples, args.batch)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    runs = []
    for preset in args.presets:
        out = Path(args.runs) / f"compare-{preset}"
        started = time.monotonic()
        subprocess.run(train_command(preset, steps[preset], out, args), env=env, check=True)
        checkpoint = torch.load(out / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
        samples = checkpoint["samples_seen"]
        runs.append({"preset": preset, "out": str(out), "steps": steps[preset], "samples": samples,
                     "forward_flops_per_sample": flops[preset], "train_flops": 3 * flops[preset] * samples,
                     "train_wall_s": round(checkpoint["wall_s"], 1),
                     "this_call_s": round(time.monotonic() - started, 1)})
    torch.set_num_threads(args.threads)
    scores = []
    checkpoints = [(r["preset"], Path(r["out"]) / "checkpoints" / "last.pt") for r in runs]
    checkpoints += [(f"context:{Path(c).parts[-3]}", Path(c)) for c in args.context]
    for name, path in checkpoints:
        for weights in ("ema", "model"):  # the EMA is what ships; raw weights show whether the EMA lags
            result = evaluate_checkpoint(path, args.val_data, args.resolution, args.per_task, weights=weights)
            print(f"val-loss {name} {weights}: {result['loss']:.5f} {result['loss_per_task']}", file=sys.stderr,
                  flush=True)
            scores.append({"name": name, **result})
    by_name = {(s["name"], s["weights"]): s for s in scores}
    first, second = args.presets
    paired = {w: paired_difference(by_name[(second, w)], by_name[(first, w)]) for w in ("ema", "model")}
    return {"paired_difference": {"what": f"{second} minus {first} (negative: {second} is better)", **paired},
            "threads": args.threads,
            "budget": {"reference_preset": first, "reference_samples": args.budget_samples,
                       "train_flops": 3 * flops[first] * args.budget_samples},
            "runs": runs, "val_loss": scores}


def paired_difference(a: dict, b: dict) -> dict:
    """Mean and standard error of (a − b) over the shared validation examples, overall and per task.
    Pairing removes the example-to-example spread that both scores share."""
    diff = np.array(a["loss_per_example"]) - np.array(b["loss_per_example"])
    per_task = np.array_split(diff, len(a["loss_per_task"]))  # examples come grouped by task, in TASKS order

    def summary(d: np.ndarray) -> dict:
        return {"mean": float(d.mean()), "stderr": float(d.std(ddof=1) / np.sqrt(len(d)))}

    return {"overall": summary(diff), **{t: summary(d) for t, d in zip(a["loss_per_task"], per_task, strict=True)}}


def markdown_table(report: dict) -> str:
    """The summary table of SIZE-COMPARISON.md, from a report holding `race` (and `bench` for the rates)."""
    bench = report.get(f"bench_{report['race']['threads']}_threads", [])  # rates at the race's thread count
    rate = {(b["preset"], b["resolution"]): b["samples_per_second"] for b in bench}
    fwd = {(f["preset"], f["resolution"]): f["forward_flops_per_sample"] for f in report.get("flops", [])}
    lines = ["| checkpoint | weights | samples | fwd GFLOP/sample | train samples/s | inpaint | uncrop | colorize "
             "| jpeg | overall |", "|" + " --- |" * 10]
    for s in report["race"]["val_loss"]:
        key = (s["preset"], s["resolution"])
        gflop = f"{fwd[key] / 1e9:.2f}" if key in fwd else "–"
        t = s["loss_per_task"]
        lines.append(f"| {s['name']} | {s['weights']} | {s['samples_seen']:,} | {gflop} | {rate.get(key, '–')} | "
                     f"{t['inpaint']:.4f} | {t['uncrop']:.4f} | {t['colorize']:.4f} | {t['jpeg']:.4f} | "
                     f"**{s['loss']:.4f}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="palette_training size-compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("flops", "bench", "race", "all", "table", "log-rates"))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for the benchmark and the race (1: see SIZE-COMPARISON.md)")
    parser.add_argument("--timed", type=int, default=3, help="timed steps per config (after 1 warm-up)")
    parser.add_argument("--configs", default=",".join(f"{p}@{r}" for p, r in BENCH_CONFIGS),
                        help="preset@resolution list for flops and bench")
    parser.add_argument("--presets", nargs=2, default=["small", "base"], help="reference first")
    parser.add_argument("--budget-samples", type=int, default=6400, help="samples of the first preset")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default="../../data/photos/train")
    parser.add_argument("--val-data", default="../../data/photos/val")
    # 16 examples × 8 γ per task, not val-loss's 32: scoring base's four checkpoints-and-weights at 32
    # takes ~20 min on a shared 2-core CPU; the paired differences say whether 16 resolve the gap.
    parser.add_argument("--per-task", type=int, default=16)
    parser.add_argument("--runs", default="../../runs", help="the races go to <runs>/compare-<preset>")
    parser.add_argument("--context", nargs="*", default=["../../runs/small/checkpoints/last.pt"],
                        help="further checkpoints to score alongside (e.g. the shipped model)")
    parser.add_argument("--logs", nargs="*", default=["../../runs/small", "../../runs/compare-small"],
                        help="for log-rates: runs whose loss.jsonl to read")
    parser.add_argument("--json", type=Path, default=None, help="write (or, for `table`, read) the report")
    args = parser.parse_args(argv)

    if args.what == "table":
        print(markdown_table(json.loads(args.json.read_text())))
        return 0
    configs = [(c.split("@")[0], int(c.split("@")[1])) for c in args.configs.split(",")]
    report: dict = json.loads(args.json.read_text()) if args.json and args.json.exists() else {}
    if args.what in ("flops", "all"):
        report["flops"] = [forward_flops(p, r) for p, r in configs]
    if args.what in ("bench", "all"):
        report[f"bench_{args.threads}_threads"] = benchmark(configs, args.threads, args.batch, timed=args.timed)
    if args.what == "log-rates":
        report["log_rates"] = [log_rates(Path(r)) for r in args.logs]
    if args.what in ("race", "all"):
        report["race"] = race(args)
    report["machine"] = {"cpus": os.cpu_count(), "torch": torch.__version__, "threads": args.threads}
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0
