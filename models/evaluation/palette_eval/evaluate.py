"""`palette_eval run`: the quality evaluation, top to bottom.

    photos (centre squares at the evaluation size)
      → per case: the product's input, mask and extension (cases.py)
      → baselines (baselines.py) and the regression slot (regression.py)
      → per sampler configuration: `palette run` once per photo with V variants (product.py)
      → metrics per method, pooled over the photos (metrics.py)
      → eval-runs/<timestamp>-<model>-<sampler>-<steps>/: report.md, metrics.json, grids/, inputs/,
        samples/, baselines/ and, for several configurations, sweep-<metric>.png (figures.py)
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import numpy as np

from . import metrics
from .baselines import baselines_for
from .cases import Case, Prepared, extend_argument, prepare
from .figures import write_grid, write_sweep_plots
from .photos import Photo, load_photos, read_rgb, save_png
from .product import ProductResult, ProductSettings, model_dir, read_manifest, run_palette
from .regression import RegressionModel
from .report import write_report

# Used when the manifest names no default sampler (as the daemon's FALLBACK_SAMPLER).
FALLBACK_SAMPLER = ("dpmpp-2m", 20)
# Product seeds: variant v of photo i gets seed + SEED_STRIDE·i + v, so no two samples share a seed.
SEED_STRIDE = 1000


@dataclass(frozen=True)
class SamplerConfig:
    sampler: str
    steps: int

    @property
    def label(self) -> str:
        return f"{self.sampler}-{self.steps}"


@dataclass
class EvalOptions:
    model: str
    photos: Path
    configs: list[SamplerConfig]
    cases: list[Case]
    size: int | None = None
    limit: int | None = None
    variants: int = 4
    seed: int = 0
    out_root: Path = Path("eval-runs")
    regression_checkpoint: Path | None = None
    device: str = "auto"
    threads: int | None = None
    jobs: int = 1
    patches_per_image: int = 128
    grid_photos: int = 8
    resume: Path | None = None  # an earlier run's folder: its finished samples are reused, the rest run
    restore_strength: float | None = None  # the JPEG cases' `palette run --strength` (None: the daemon's)
    working_size: int | None = None  # `palette run --working-size` for every case (None: the model's)
    strength: float | None = None  # `palette run --strength` for the fill, uncrop and colorize cases
    crop: str = "resize"  # photos.CROPS: centre squares resized to the size, or cut at native scale
    command: str = ""
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))


DEFAULT_SIZE = 256  # the paper's evaluation size, and what a user judges; --size 64 is the model's own


def default_config(manifest: dict) -> SamplerConfig:
    s = manifest.get("sampler")
    return SamplerConfig(s["name"], int(s["steps"])) if s else SamplerConfig(*FALLBACK_SAMPLER)


def new_run_dir(root: Path, model: str, configs: list[SamplerConfig]) -> Path:
    """A fresh folder; an existing one is never reused (a suffix is added instead)."""
    samplers = "+".join(dict.fromkeys(c.sampler for c in configs))
    steps = "-".join(str(s) for s in sorted({c.steps for c in configs}))
    base = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{model}-{samplers}-{steps}"
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run folder name under {root} for {base}")


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


def product_seed(seed: int, photo: Photo) -> int:
    return seed + SEED_STRIDE * photo.index


# ---------------------------------------------------------------------------------------------------
# Scoring


def score(method: str, kind: str, outputs: list[list[np.ndarray]], prepared: list[Prepared], opts: EvalOptions,
          config: SamplerConfig | None = None, sample_ms: list[float] | None = None) -> dict:
    """Metrics of one method on one case. `outputs[i]` holds the variants for photo i.

    A deterministic method has one output per photo; it is repeated to the number of variants for the
    SWD, so every method's patch sets have the same size (the SWD estimate depends on it).
    """
    originals = [p.original for p in prepared]
    pairs = list(zip(outputs, originals, strict=True))
    per_photo_psnr = [float(np.mean([metrics.psnr(o, ref) for o in outs])) for outs, ref in pairs]
    per_photo_ssim = [float(np.mean([metrics.ssim(o, ref) for o in outs])) for outs, ref in pairs]
    pooled_out, pooled_ref = [], []
    for outs, ref in pairs:
        repeated = outs if len(outs) == opts.variants else [outs[i % len(outs)] for i in range(opts.variants)]
        pooled_out += repeated
        pooled_ref += [ref] * len(repeated)
    swd = metrics.swd(pooled_out, pooled_ref, opts.patches_per_image, seed=opts.seed)
    row: dict = {
        "method": method,
        "kind": kind,
        "psnr": float(np.mean(per_photo_psnr)),
        "ssim": float(np.mean(per_photo_ssim)),
        "swd_resolutions": swd.resolutions,
        "swd_x1e3": swd.per_level_x1e3,
        "swd_mean_x1e3": swd.mean_x1e3,
        "diversity_ms_ssim": None,
        "per_photo": {"psnr": per_photo_psnr, "ssim": per_photo_ssim},
    }
    if all(len(outs) >= 2 for outs in outputs):
        per_photo_div = [metrics.mean_pairwise_ms_ssim(outs) for outs in outputs]
        row["diversity_ms_ssim"] = float(np.mean(per_photo_div))
        row["per_photo"]["diversity_ms_ssim"] = per_photo_div
    if prepared[0].case.name == "colorize":
        row["colourfulness"] = float(np.mean([metrics.colourfulness(o) for outs in outputs for o in outs]))
        row["colourfulness_original"] = float(np.mean([metrics.colourfulness(o) for o in originals]))
    if config is not None:
        row["sampler"], row["steps"] = config.sampler, config.steps
    if sample_ms:
        row["sample_ms_per_input"] = float(np.mean(sample_ms))
    return row


# ---------------------------------------------------------------------------------------------------
# One case


def sample_photo(p: Prepared, config: SamplerConfig, opts: EvalOptions, run_dir: Path, model_arg: str) -> ProductResult:
    """`palette run` for one prepared input: V variants of the full canvas, checked to be S×S."""
    case = p.case
    folder = run_dir / "inputs" / case.name / p.photo.name
    settings = ProductSettings(model_arg, config.sampler, config.steps, opts.variants, opts.device, opts.threads,
                               restore_strength=opts.restore_strength, strength=opts.strength,
                               working_size=opts.working_size)
    started = time.monotonic()
    out_dir = run_dir / "samples" / config.label / case.name / p.photo.name
    reused = finished_sample(out_dir, case.product_task, settings, product_seed(opts.seed, p.photo))
    if reused is not None:
        opts.log(f"  {case.name} {config.label} {p.photo.name}: reused from {out_dir}")
        return reused
    result = run_palette(
        case.product_task, folder / "input.png", out_dir,
        product_seed(opts.seed, p.photo), settings,
        mask=folder / "mask.png" if case.product_task == "fill" else None,
        extend=extend_argument(p.extend) if p.extend else None,
    )
    s = p.original.shape[0]
    for v in result.variants:
        if v.shape != (s, s, 3):
            raise RuntimeError(f"palette run returned a {v.shape} image for {case.name}, expected {s}×{s}")
    opts.log(f"  {case.name} {config.label} {p.photo.name}: {time.monotonic() - started:.1f} s")
    return result


def finished_sample(out_dir: Path, task: str, settings: ProductSettings, seed: int) -> ProductResult | None:
    """A sample an interrupted run already made (with --resume), if it is the one this run would make:
    same task, model, sampler, steps and seeds, every variant file present. Restoration at 256 px takes
    a minute per input on 2 cores, so an evaluation must survive a stop without starting over."""
    result_file = out_dir / "result.json"
    if not result_file.exists():
        return None
    result = json.loads(result_file.read_text())
    if result.get("model") not in (Path(settings.model).name, read_manifest(settings.model)["name"]):
        return None
    if (result.get("task"), result.get("sampler"), result.get("steps"), result.get("seeds")) != \
            (task, settings.sampler, settings.steps, list(range(seed, seed + settings.variants))):
        return None
    files = [out_dir / name for name in result.get("files", [])]
    if len(files) != settings.variants or not all(f.exists() for f in files):
        return None
    return ProductResult([read_rgb(f) for f in files], result)


def run_case(case: Case, photos: list[Photo], opts: EvalOptions, run_dir: Path, model_arg: str,
             regression: RegressionModel | None) -> dict:
    prepared = [prepare(case, photo, opts.seed) for photo in photos]
    inputs_dir = run_dir / "inputs" / case.name
    for p in prepared:
        folder = inputs_dir / p.photo.name
        save_png(p.product_image, folder / "input.png")
        if p.hole is not None and case.product_task == "fill":
            save_png(p.hole.astype(np.uint8) * 255, folder / "mask.png")

    rows: list[dict] = []
    grid_columns: list[tuple[str, list[np.ndarray]]] = []  # (label, one image per photo)

    baseline_outputs: dict[str, list[np.ndarray]] = {}
    for p in prepared:
        for name, image in baselines_for(p).items():
            baseline_outputs.setdefault(name, []).append(image)
    for name, images in baseline_outputs.items():
        for p, image in zip(prepared, images, strict=True):
            save_png(image, run_dir / "baselines" / case.name / slug(name) / f"{p.photo.name}.png")
        rows.append(score(name, "baseline", [[img] for img in images], prepared, opts))
        grid_columns.append((name, images))

    if regression is not None:
        images = [regression.predict(p, opts.seed) for p in prepared]
        rows.append(score("regression (L2)", "regression", [[img] for img in images], prepared, opts))
        grid_columns.append(("regression", images))
    else:
        rows.append({"method": "regression (L2)", "kind": "regression", "not_trained": True})

    grids = []
    for config in opts.configs:
        # --jobs > 1 runs several `palette run` processes at once (faster on many cores; their timings
        # then share the machine).
        with ThreadPoolExecutor(max_workers=opts.jobs) as pool:
            results = list(pool.map(partial(sample_photo, config=config, opts=opts, run_dir=run_dir,
                                            model_arg=model_arg), prepared))
        outputs = [r.variants for r in results]
        sample_ms = [float(r.result["timings"]["sampleMs"]) for r in results]
        rows.append(score(f"Palette {config.sampler}, {config.steps} steps", "palette", outputs, prepared, opts,
                          config, sample_ms))
        shown = min(opts.grid_photos, len(prepared))
        columns = [("input", [p.shown for p in prepared[:shown]]),
                   *[(label, imgs[:shown]) for label, imgs in grid_columns],
                   *[(f"variant {v + 1}", [outs[v] for outs in outputs[:shown]]) for v in range(opts.variants)],
                   ("original", [p.original for p in prepared[:shown]])]
        grid = run_dir / "grids" / f"{case.name}--{config.label}.png"
        write_grid(columns, grid, f"{case.title}: {config.sampler}, {config.steps} steps")
        grids.append(grid.relative_to(run_dir).as_posix())
    return {"title": case.title, "product_task": case.product_task, "methods": rows, "grids": grids}


# ---------------------------------------------------------------------------------------------------
# The run


def run_eval(opts: EvalOptions) -> Path:
    mdir = model_dir(opts.model)
    manifest = read_manifest(opts.model)
    size = opts.size or DEFAULT_SIZE
    photos = load_photos(opts.photos, size, opts.limit, opts.crop)
    configs = opts.configs or [default_config(manifest)]
    opts.configs = configs
    run_dir = opts.resume or new_run_dir(opts.out_root, mdir.name, configs)
    opts.log(f"palette_eval: {len(photos)} photos at {size}×{size}, {len(opts.cases)} cases, "
             f"{', '.join(c.label for c in configs)}, {opts.variants} variants → {run_dir}")
    for photo in photos:
        save_png(photo.pixels, run_dir / "inputs" / "originals" / f"{photo.name}.png")
    regression = RegressionModel(opts.regression_checkpoint, opts.threads) if opts.regression_checkpoint else None

    started, load_at_start = time.monotonic(), os.getloadavg()[0]
    tasks = {}
    for case in opts.cases:
        tasks[case.name] = run_case(case, photos, opts, run_dir, str(mdir), regression)
    summary = {
        "command": opts.command,
        "created": datetime.now().isoformat(timespec="seconds"),
        "model": {"name": manifest["name"], "folder": mdir.name, "version": manifest["version"],
                  "sha256": manifest["sha256"], "native_resolution": manifest["native_resolution"],
                  "training_steps": manifest["training"]["steps"]},
        "size": size,
        "photos": [{"name": p.name, "source": p.source} for p in photos],
        "photo_folder": str(opts.photos),
        "crop": opts.crop,
        "variants": opts.variants,
        "seed": opts.seed,
        "configs": [{"sampler": c.sampler, "steps": c.steps} for c in configs],
        "device": opts.device,
        "threads": opts.threads,
        "jobs": opts.jobs,
        "load_average_at_start": round(load_at_start, 2),
        "cpu_count": os.cpu_count(),
        "ms_ssim_scales": metrics.ms_ssim_scales(size, size),
        "swd": {"patch": metrics.SWD_PATCH, "patches_per_image": opts.patches_per_image,
                "resolutions": metrics.swd_resolutions(size, size), "directions": metrics.SWD_DIRECTIONS},
        "regression_checkpoint": str(opts.regression_checkpoint) if opts.regression_checkpoint else None,
        "wall_s": round(time.monotonic() - started, 1),
        "tasks": tasks,
    }
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    plots = write_sweep_plots(summary, run_dir) if len(configs) > 1 else []
    write_report(summary, run_dir / "report.md", plots)
    opts.log(f"palette_eval: wrote {run_dir / 'report.md'}")
    return run_dir
