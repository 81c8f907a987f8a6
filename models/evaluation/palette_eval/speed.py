"""`palette_eval speed` (npm run bench:speed): how fast the product samples, side by side.

1. The daemon against PyTorch eager, one run, alternating (daemon, PyTorch, daemon, …), medians:
   - daemon: `palette run --task fill` in-process (onnxruntime-node on the exported ONNX model), timed by
     its result.json `timings.sampleMs` (the task's geometry and the sampling loop; not process start or
     model load);
   - PyTorch: the checkpoint's EMA weights, eager, DDIM η = 0 on the same respaced levels
     (torch_sampler.py), timed around noise → ŷ0;
   same input (a centred-box fill at the model's native size), same variants as one batch, same steps,
   same thread count (torch.set_num_threads / palette run --threads). One PyTorch warm-up run first.
2. Time to first preview, cold and warm (first-preview.ts on daemon/generate.ts).
3. `npm run bench` (bench/daemon-bench.ts): the sampling loop's per-step overhead over bare model calls.
4. Peak memory: `palette run --task fill` on a large image (default 6000×4000, the photo upscaled) with a
   small mask, under /usr/bin/time -v: "Maximum resident set size"; and on the small input for scale.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

from .photos import centre_square, list_photos, save_png
from .product import REPO_ROOT, ProductSettings, model_dir, palette_command, read_manifest, run_palette, tsx_command

SAMPLER = "ddim"  # the comparison is DDIM η = 0 on both sides
SEED = 0
GNU_TIME = "/usr/bin/time"


@dataclass
class SpeedOptions:
    model: str
    checkpoint: Path
    photos: Path
    size: int | None = None
    steps: int = 20
    variants: int = 4
    reps: int = 5
    threads: int = 2
    bench: bool = True
    bench_reps: int = 5
    peak_memory: bool = True
    big_size: tuple[int, int] = (6000, 4000)
    out_root: Path = Path("eval-runs")
    command: str = ""
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))


def speed_input(photos: Path, size: int) -> tuple[np.ndarray, str]:
    """The first evaluation photo, or a synthetic one where there is no photo folder (CI)."""
    if photos.is_dir() and (paths := list_photos(photos)):
        with Image.open(paths[0]) as img:
            return centre_square(img, size), paths[0].relative_to(photos).as_posix()
    from palette_training.fixture import draw_synthetic_photo

    synthetic = draw_synthetic_photo(np.random.default_rng(SEED), size=max(size, 32))
    return centre_square(synthetic, size), "synthetic (palette_training.fixture.draw_synthetic_photo)"


def centre_hole(h: int, w: int, fraction: float) -> np.ndarray:
    """A centred box of `fraction` of each side."""
    hole = np.zeros((h, w), dtype=bool)
    bh, bw = max(1, round(h * fraction)), max(1, round(w * fraction))
    hole[(h - bh) // 2 : (h - bh) // 2 + bh, (w - bw) // 2 : (w - bw) // 2 + bw] = True
    return hole


def check_same_network(manifest: dict, unet: dict) -> None:
    """The checkpoint must hold the exported model's network (its weights may be from a later step)."""
    arch = manifest["architecture"]
    plain = lambda v: list(v) if isinstance(v, list | tuple) else v  # noqa: E731  (tuples vs JSON lists)
    differing = {k: (v, arch[k]) for k, v in unet.items() if k in arch and plain(v) != plain(arch[k])}
    if differing:
        raise ValueError(f"the checkpoint's U-Net differs from the model's manifest: {differing}")


def median(values: list[float]) -> float:
    return float(statistics.median(values))


# ---------------------------------------------------------------------------------------------------
# 1. daemon against PyTorch eager


def daemon_against_torch(o: SpeedOptions, mdir: Path, manifest: dict, image: np.ndarray, hole: np.ndarray,
                         run_dir: Path) -> dict:
    import torch

    from .torch_sampler import inpaint_ddim, load_ema_unet

    torch.set_num_threads(o.threads)
    net, meta = load_ema_unet(o.checkpoint)
    check_same_network(manifest, meta["unet"])
    gamma_range = (float(manifest["gamma_range"][0]), float(manifest["gamma_range"][1]))
    image_path = save_png(image, run_dir / "input.png")
    mask_path = save_png(hole.astype(np.uint8) * 255, run_dir / "mask.png")
    settings = ProductSettings(str(mdir), SAMPLER, o.steps, o.variants, device="cpu", threads=o.threads)

    def torch_once() -> float:
        t0 = time.perf_counter()
        inpaint_ddim(net, image, hole, o.variants, o.steps, gamma_range, SEED)
        return (time.perf_counter() - t0) * 1000

    cold_torch = torch_once()  # warm-up: thread pool, allocator
    daemon_ms, torch_ms = [], []
    for r in range(o.reps):
        result = run_palette("fill", image_path, run_dir / "daemon-runs" / f"rep-{r}", SEED, settings, mask=mask_path)
        daemon_ms.append(float(result.result["timings"]["sampleMs"]))
        torch_ms.append(torch_once())
        o.log(f"  rep {r + 1}/{o.reps}: daemon {daemon_ms[-1]:.0f} ms, PyTorch {torch_ms[-1]:.0f} ms")
    d, t = median(daemon_ms), median(torch_ms)
    return {
        "daemon_ms": daemon_ms, "torch_ms": torch_ms, "torch_cold_ms": cold_torch,
        "daemon_median_ms": d, "torch_median_ms": t, "ratio_daemon_over_torch": d / t,
        "checkpoint_step": meta["step"], "model_training_steps": manifest["training"]["steps"],
        "torch_version": torch.__version__,
    }


# ---------------------------------------------------------------------------------------------------
# 2.–4. the daemon's own numbers


def first_preview(o: SpeedOptions, mdir: Path, run_dir: Path) -> dict:
    cmd = [*tsx_command(), "models/evaluation/first-preview.ts", "--model", str(mdir),
           "--image", str(run_dir / "input.png"), "--mask", str(run_dir / "mask.png"), "--steps", str(o.steps),
           "--variants", str(o.variants), "--threads", str(o.threads), "--sampler", SAMPLER]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def daemon_bench(o: SpeedOptions, mdir: Path) -> str:
    cmd = [*tsx_command(), "bench/daemon-bench.ts", "--model", str(mdir), "--steps", str(o.steps), "--reps",
           str(o.bench_reps), "--threads", str(o.threads)]
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600, check=True).stdout


def max_rss(image: Path, mask: Path, out_dir: Path, o: SpeedOptions, mdir: Path) -> dict:
    """`palette run --task fill` under GNU time -v: peak RSS (the largest process of the tree) and wall time."""
    cmd = [GNU_TIME, "-v", *palette_command(), "run", "--task", "fill", "--image", str(image), "--mask",
           str(mask), "--variants", str(o.variants), "--steps", str(o.steps), "--seed", str(SEED), "--sampler",
           SAMPLER, "--out", str(out_dir), "--model", str(mdir), "--device", "cpu", "--threads", str(o.threads)]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"peak-memory run failed: {done.stderr[-3000:]}")
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr).group(1)
    result = json.loads((out_dir / "result.json").read_text())
    return {"max_rss_mib": kb / 1024, "wall": wall, "sample_ms": result["timings"]["sampleMs"],
            "total_ms": result["timings"]["totalMs"]}


def peak_memory(o: SpeedOptions, mdir: Path, image: np.ndarray, run_dir: Path) -> dict:
    width, height = o.big_size
    big_dir = run_dir / "big"
    big_dir.mkdir(parents=True, exist_ok=True)
    big_image = big_dir / "input.png"
    Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC).save(big_image, compress_level=1)
    big_mask = big_dir / "mask.png"
    Image.fromarray(centre_hole(height, width, 0.08).astype(np.uint8) * 255).save(big_mask, compress_level=1)
    small = max_rss(run_dir / "input.png", run_dir / "mask.png", run_dir / "small-out", o, mdir)
    big = max_rss(big_image, big_mask, big_dir / "out", o, mdir)
    return {"size": f"{width}x{height}", "megapixels": width * height / 1e6, "mask": "centred box, 8 % of each side",
            "big": big, "small": small}


# ---------------------------------------------------------------------------------------------------
# The run


def run_speed(o: SpeedOptions) -> Path:
    mdir = model_dir(o.model)
    manifest = read_manifest(o.model)
    size = o.size or int(manifest["native_resolution"])
    if not o.checkpoint.exists():
        raise FileNotFoundError(f"no checkpoint {o.checkpoint}: pass the one {mdir.name} was exported from")
    o.out_root.mkdir(parents=True, exist_ok=True)
    run_dir = o.out_root / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-speed-{mdir.name}-{SAMPLER}-{o.steps}"
    run_dir.mkdir()  # never over a previous run
    image, source = speed_input(o.photos, size)
    hole = centre_hole(size, size, 0.5)  # a centred box of a quarter of the area
    o.log(f"palette_eval speed: {mdir.name} at {size}×{size}, {o.variants} variants, {o.steps} DDIM steps, "
          f"{o.threads} threads → {run_dir}")
    summary: dict = {"command": o.command, "model": mdir.name, "checkpoint": str(o.checkpoint), "size": size,
                     "input": source, "steps": o.steps, "variants": o.variants, "threads": o.threads,
                     "sampler": "ddim, eta 0", "reps": o.reps, "cpu_count": os.cpu_count(),
                     "load_average_at_start": round(os.getloadavg()[0], 2)}
    summary["side_by_side"] = daemon_against_torch(o, mdir, manifest, image, hole, run_dir)
    summary["first_preview"] = first_preview(o, mdir, run_dir)
    if o.bench:
        o.log("  npm run bench …")
        summary["daemon_bench"] = daemon_bench(o, mdir)
    if o.peak_memory and not Path(GNU_TIME).exists():
        o.log(f"  peak memory skipped: no {GNU_TIME} (apt-get install time)")
    elif o.peak_memory:
        o.log(f"  peak memory at {o.big_size[0]}×{o.big_size[1]} …")
        summary["peak_memory"] = peak_memory(o, mdir, image, run_dir)
    (run_dir / "speed.json").write_text(json.dumps(summary, indent=2) + "\n")
    (run_dir / "speed.md").write_text(speed_report(summary))
    print(speed_report(summary))
    return run_dir


def speed_report(s: dict) -> str:
    sb = s["side_by_side"]
    steps, v = s["steps"], s["variants"]
    row = lambda name, ms: f"| {name} | {ms:.1f} | {ms / steps:.2f} | {ms / v:.1f} |"  # noqa: E731
    lines = [
        f"# Sampling speed: {s['model']} at {s['size']}×{s['size']}",
        "",
        f"Inpainting (centred box, a quarter of the area) of `{s['input']}`, {v} variants as one batch, "
        f"{steps} DDIM steps (η = 0, levels evenly spaced in log-SNR inside the model's γ range), "
        f"{s['threads']} threads, medians of {s['reps']} alternating runs. Command: `{s['command']}`.",
        "",
        "| sampler | median ms (all variants) | ms per step | ms per variant |",
        "|---|---:|---:|---:|",
        row("daemon: `palette run` (onnxruntime-node, ONNX export), result.json sampleMs", sb["daemon_median_ms"]),
        row("PyTorch eager, checkpoint EMA weights", sb["torch_median_ms"]),
        "",
        f"Daemon / PyTorch: **{sb['ratio_daemon_over_torch']:.2f}×** (below 1: the daemon is faster). PyTorch's "
        f"first (warm-up) run: {sb['torch_cold_ms']:.0f} ms. The daemon's figure includes the fill task's "
        "geometry (context crop, resizes, seam colour match) and its first model call in a fresh process. "
        f"Checkpoint step {sb['checkpoint_step']}, model exported at step {sb['model_training_steps']}; "
        f"torch {sb['torch_version']}.",
        "",
        f"Load average when the run started: {s['load_average_at_start']} on {s['cpu_count']} CPUs. On a busy "
        "machine PyTorch's OpenMP threads slow down far more than onnxruntime's (spin-waiting threads): time "
        "on an idle machine, or compare at --threads 1.",
        "",
        "## Time to first preview (daemon/generate.ts, default previews)",
        "",
        "Milliseconds from the request; sampleMs is the sampling's own duration (from `started`).",
        "",
        "| request | started | first model call done | first preview | all results | sampleMs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, label in (("cold", "cold (loads the model)"), ("warm", "warm (model loaded)")):
        t = s["first_preview"][kind]
        lines.append(f"| {label} | {t['startedMs']:.0f} ms | {t['firstProgressMs']:.0f} ms | "
                     f"{t['firstPreviewMs']:.0f} ms | {t['totalMs']:.0f} ms | {t['sampleMs']:.0f} ms |")
    if "daemon_bench" in s:
        lines += ["", "## Per-step overhead (`npm run bench`, bench/daemon-bench.ts)", "", s["daemon_bench"].strip()]
    if "peak_memory" in s:
        pm = s["peak_memory"]
        mem = lambda label, r: (f"| {label} | {r['max_rss_mib']:.0f} MiB | {r['wall']} | "  # noqa: E731
                                f"{r['sample_ms']} | {r['total_ms']} |")
        lines += [
            "", "## Peak memory (`/usr/bin/time -v`, Maximum resident set size)", "",
            "| image | max RSS | wall | sampleMs | totalMs |", "|---|---:|---:|---:|---:|",
            mem(f"{pm['size']} ({pm['megapixels']:.1f} MP), fill with a {pm['mask']}", pm["big"]),
            mem(f"{s['size']}×{s['size']} (the input above)", pm["small"]),
        ]
    return "\n".join(lines) + "\n"
