"""Every sample comes from the product: `palette run` (daemon/cli/palette.ts), one call per input.

    palette run --task T --image IN [--mask MASK.png] [--extend left=Lpx,...] --variants V --steps N
                --seed K --sampler S --out DIR --model NAME|DIR [--device D] [--threads N]

writes DIR/variant-<i>.png (the full composited image) and DIR/result.json (seeds, model, sampler,
steps, canvas, timings). The seeds of the variants are K, K+1, …
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .photos import read_rgb

REPO_ROOT = Path(__file__).resolve().parents[3]


CLI_BUNDLE = REPO_ROOT / "dist" / "palette.js"
CLI_SOURCES = ("daemon", "shared", "scripts/build-cli.mjs", "package-lock.json")
_bundle_checked = False


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in CLI_SOURCES:
        path = REPO_ROOT / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


def palette_command() -> list[str]:
    """`node dist/palette.js`: the CLI bundled from daemon/ and shared/ by scripts/build-cli.mjs, built
    again (once per process, ~0.3 s) when a source is newer than the bundle. The same code tsx would run,
    without tsx transforming it again in every `palette run`: ~0.6 s of CPU per start, paid once per
    input. Without esbuild (no npm install) `tsx daemon/cli/palette.ts`, as README shows it."""
    global _bundle_checked
    esbuild = REPO_ROOT / "node_modules" / ".bin" / "esbuild"
    if esbuild.exists():
        if not _bundle_checked:
            if not CLI_BUNDLE.exists() or CLI_BUNDLE.stat().st_mtime < _newest_source_mtime():
                subprocess.run(["node", str(REPO_ROOT / "scripts" / "build-cli.mjs")], cwd=REPO_ROOT, check=True,
                               capture_output=True, text=True)
            _bundle_checked = True
        return ["node", str(CLI_BUNDLE)]
    return [*tsx_command(), "daemon/cli/palette.ts"]


def tsx_command() -> list[str]:
    """tsx, to run a TypeScript file: the installed one directly when it is there (npx adds a few hundred
    ms per call to look it up)."""
    tsx = REPO_ROOT / "node_modules" / ".bin" / "tsx"
    return [str(tsx)] if tsx.exists() else ["npx", "tsx"]


@dataclass(frozen=True)
class ProductSettings:
    model: str  # NAME (installed under models/) or a model folder
    sampler: str
    steps: int
    variants: int
    device: str = "auto"
    threads: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    restore_strength: float | None = None  # palette run --strength, for --task restore only
    working_size: int | None = None  # palette run --working-size (None: the model's for the task)
    strength: float | None = None  # palette run --strength for fill, uncrop and colorize (None: 1)


@dataclass(frozen=True)
class ProductResult:
    variants: list[np.ndarray]  # uint8 [H, W, 3] each, the full canvas
    result: dict  # result.json


class ProductError(RuntimeError):
    pass


def run_palette(task: str, image: Path, out_dir: Path, seed: int, settings: ProductSettings,
                mask: Path | None = None, extend: str | None = None, timeout_s: float = 3600) -> ProductResult:
    cmd = [*palette_command(), "run", "--task", task, "--image", str(image.resolve()),
           "--variants", str(settings.variants), "--steps", str(settings.steps), "--seed", str(seed),
           "--sampler", settings.sampler, "--out", str(out_dir.resolve()), "--model", settings.model,
           "--device", settings.device]
    if mask is not None:
        cmd += ["--mask", str(mask.resolve())]
    if extend:
        cmd += ["--extend", extend]
    if settings.threads:
        cmd += ["--threads", str(settings.threads)]
    if task == "restore" and settings.restore_strength is not None:
        cmd += ["--strength", str(settings.restore_strength)]
    if task != "restore" and settings.strength is not None:
        cmd += ["--strength", str(settings.strength)]
    if settings.working_size is not None:
        cmd += ["--working-size", str(settings.working_size)]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, **settings.extra_env})
    if done.returncode != 0:
        raise ProductError(f"palette run failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-4000:]}")
    result = json.loads((out_dir / "result.json").read_text())
    variants = [read_rgb(out_dir / name) for name in result["files"]]
    if result.get("sampler") != settings.sampler or result.get("steps") != settings.steps:
        raise ProductError(f"asked for {settings.sampler}/{settings.steps}, result.json says "
                           f"{result.get('sampler')}/{result.get('steps')}")
    return ProductResult(variants, result)


def model_dir(model: str) -> Path:
    """The folder of --model NAME|DIR (as the CLI resolves it: a folder with model.json, else models/NAME)."""
    as_dir = Path(model)
    if not as_dir.is_absolute():
        as_dir = REPO_ROOT / as_dir
    if (as_dir / "model.json").exists():
        return as_dir
    installed = REPO_ROOT / "models" / model
    if (installed / "model.json").exists():
        return installed
    raise FileNotFoundError(f"no model {model!r}: neither {as_dir} nor {installed} holds a model.json")


def read_manifest(model: str) -> dict:
    return json.loads((model_dir(model) / "model.json").read_text())
