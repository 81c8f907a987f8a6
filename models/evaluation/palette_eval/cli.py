"""`python -m palette_eval run|speed` (npm run eval / npm run bench:speed from the repository root).

    run     quality: every case of the paper's protocol through `palette run`, baselines, metrics,
            report.md, grids, and metric-against-steps plots with --samplers / --steps-sweep
    speed   the daemon (`palette run`, result.json timings.sampleMs) against a PyTorch eager DDIM with
            the checkpoint's EMA weights, alternating; time to first preview; npm run bench's table;
            peak memory of a 24-megapixel fill
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .cases import CASE_NAMES, case_by_name
from .product import REPO_ROOT, ProductError

DEFAULT_MODEL = "palette-small-v5"  # daemon/model-manifest.ts DEFAULT_MODEL (a test keeps them equal)


def _ints(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def sampler_configs(sampler: str | None, steps: int | None, samplers: str | None, sweep: list[int] | None,
                    default: tuple[str, int]) -> list:
    """--sampler/--steps give one configuration; --samplers a,b[:N] × --steps-sweep 10,20,50 give several
    (a sampler written NAME:N runs at N steps only, e.g. ancestral:1000)."""
    from .evaluate import SamplerConfig

    base_sampler, base_steps = sampler or default[0], steps or default[1]
    if not samplers and not sweep:
        return [SamplerConfig(base_sampler, base_steps)]
    configs = []
    for spec in (samplers.split(",") if samplers else [base_sampler]):
        name, _, fixed = spec.strip().partition(":")
        for n in [int(fixed)] if fixed else (sweep or [base_steps]):
            configs.append(SamplerConfig(name, n))
    return configs


def add_run_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="quality evaluation through `palette run`")
    p.add_argument("--model", default=DEFAULT_MODEL, help="installed model NAME or a model folder "
                   f"(default {DEFAULT_MODEL}; for a smoke run: test/fixtures/tiny-model)")
    p.add_argument("--photos", type=Path, default=REPO_ROOT / "data" / "photos" / "val",
                   help="folder of photos, searched recursively (default data/photos/val)")
    p.add_argument("--size", type=int, default=None,
                   help="evaluation size (default 256, the paper's; 512 with --crop native is a selection at 100 %%)")
    p.add_argument("--limit", type=int, default=None, help="use the first N photos")
    p.add_argument("--variants", type=int, default=4, help="samples per input (palette run --variants)")
    p.add_argument("--seed", type=int, default=0, help="masks and sampler seeds derive from it and the photo index")
    p.add_argument("--sampler", default=None, help="ancestral|ddim|dpmpp-2m (default: the model's, else dpmpp-2m)")
    p.add_argument("--steps", type=int, default=None, help="default: the model's, else 20")
    p.add_argument("--samplers", default=None, help="several samplers, e.g. ancestral:1000,ddim,dpmpp-2m")
    p.add_argument("--steps-sweep", type=_ints, default=None, help="step counts for --samplers, e.g. 10,20,50")
    p.add_argument("--tasks", default=",".join(CASE_NAMES), help=f"cases to run (default all: {','.join(CASE_NAMES)})")
    p.add_argument("--regression-checkpoint", type=Path, default=None,
                   help="fills the regression baseline row (see palette_eval/regression.py)")
    p.add_argument("--out-root", type=Path, default=REPO_ROOT / "eval-runs")
    p.add_argument("--resume", type=Path, default=None,
                   help="an interrupted run's folder: write into it, reusing the samples it finished")
    p.add_argument("--device", default="auto", help="palette run --device (auto|cpu|cuda|webgpu)")
    p.add_argument("--threads", type=int, default=None, help="palette run --threads (onnxruntime intra-op)")
    p.add_argument("--jobs", type=int, default=1, help="palette run processes at once (timings then share the CPU)")
    p.add_argument("--patches-per-image", type=int, default=128, help="SWD patches per image and pyramid level")
    p.add_argument("--grid-photos", type=int, default=8, help="rows in each sample grid")
    p.add_argument("--restore-strength", type=float, default=None,
                   help="palette run --strength for the JPEG cases (default: the daemon's for restore)")
    p.add_argument("--strength", type=float, default=None,
                   help="palette run --strength for the fill, uncrop and colorize cases (default 1: pure Palette; "
                        "below 1 sampling starts from a classical pre-fill noised to that level)")
    p.add_argument("--crop", choices=("resize", "native"), default="resize",
                   help="resize: centre squares resized to --size (the paper's protocol); native: --size crops "
                        "at the photo's own scale (a selection at 100 %%, e.g. --size 512)")
    p.add_argument("--working-size", type=int, default=None,
                   help="palette run --working-size for every case (default: the model's for each task)")


def add_speed_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("speed", help="daemon against PyTorch eager, first preview, peak memory")
    p.add_argument("--model", default=DEFAULT_MODEL, help="the exported model (NAME or folder)")
    p.add_argument("--checkpoint", type=Path, default=REPO_ROOT / "runs" / "small" / "checkpoints" / "last.pt",
                   help="the training checkpoint the model was exported from (its EMA weights run in PyTorch)")
    p.add_argument("--photos", type=Path, default=REPO_ROOT / "data" / "photos" / "val",
                   help="the first photo is the input (a synthetic one when the folder is missing)")
    p.add_argument("--size", type=int, default=None, help="default: the model's native_resolution")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--variants", type=int, default=4)
    p.add_argument("--reps", type=int, default=5, help="alternating repetitions of each side")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads and palette run --threads")
    p.add_argument("--bench", action=argparse.BooleanOptionalAction, default=True,
                   help="also run npm run bench (bench/daemon-bench.ts) and include its table")
    p.add_argument("--bench-reps", type=int, default=5)
    p.add_argument("--peak-memory", action=argparse.BooleanOptionalAction, default=True,
                   help="fill on a large image under /usr/bin/time -v")
    p.add_argument("--big-size", default="6000x4000", help="WxH of the peak-memory image (default 24 MP)")
    p.add_argument("--out-root", type=Path, default=REPO_ROOT / "eval-runs")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="palette_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add_run_parser(sub)
    add_speed_parser(sub)
    args = parser.parse_args(argv)
    try:
        return run_command(args, "python -m palette_eval " + shlex.join(argv))
    except (FileNotFoundError, ProductError) as error:  # a missing input, or `palette run` failed
        print(f"palette_eval: {error}", file=sys.stderr)
        return 1


def run_command(args: argparse.Namespace, command: str) -> int:
    if args.command == "run":
        from .evaluate import EvalOptions, default_config, run_eval
        from .product import read_manifest

        manifest = read_manifest(args.model)
        d = default_config(manifest)
        configs = sampler_configs(args.sampler, args.steps, args.samplers, args.steps_sweep, (d.sampler, d.steps))
        opts = EvalOptions(
            model=args.model, photos=args.photos, configs=configs,
            cases=[case_by_name(n.strip()) for n in args.tasks.split(",") if n.strip()],
            size=args.size, limit=args.limit, variants=args.variants, seed=args.seed, out_root=args.out_root,
            regression_checkpoint=args.regression_checkpoint, device=args.device, threads=args.threads, jobs=args.jobs,
            patches_per_image=args.patches_per_image, grid_photos=args.grid_photos, command=command,
            resume=args.resume, restore_strength=args.restore_strength, strength=args.strength,
            working_size=args.working_size, crop=args.crop,
        )
        print(run_eval(opts))
        return 0
    if args.command == "speed":
        from .speed import SpeedOptions, run_speed

        width, _, height = args.big_size.partition("x")
        opts = SpeedOptions(
            model=args.model, checkpoint=args.checkpoint, photos=args.photos, size=args.size, steps=args.steps,
            variants=args.variants, reps=args.reps, threads=args.threads, bench=args.bench,
            bench_reps=args.bench_reps, peak_memory=args.peak_memory, big_size=(int(width), int(height)),
            out_root=args.out_root, command=command,
        )
        print(run_speed(opts))
        return 0
    return 2
