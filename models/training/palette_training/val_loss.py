"""Held-out validation loss: the training objective on a fixed set of inputs, so checkpoints compare.

The training loss in loss.jsonl is noisy (a fresh batch, γ and ε every step) and measured on training
photos. This evaluates the same quantity — the ε-prediction L2 on the hole pixels (`eps_loss_per_sample`)
— on validation photos, with everything fixed by a seed:

  * per task, `per_task` examples built with data.py's own crop and task builders, so the validation
    examples follow the training distribution (crop scales, masks, JPEG qualities);
  * `gammas` noise levels at the midpoints of equal bins of t on the training schedule, so their mean
    is a stratified estimate of the training expectation over t ~ U{1..T};
  * one ε per (example, γ) from its own seeded generator.

The net's forward returns ε̂ whatever its last layer predicts, so this is the ε-L2 for v-prediction nets
too (their training loss is the v-L2, ε-L2 / γ): the one number comparable across parameterisations.

So two checkpoints are scored on exactly the same (x, y_t, γ, ε); the same checkpoint on the same
machine and thread count gives identical numbers (the batches are cut in a fixed order).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from .config import TASKS, train_config_from_dict
from .data import PhotoSet, make_example, random_crop
from .diffusion import TrainingSchedule, eps_loss_per_sample, noisy_target
from .unet import PaletteUNet, count_parameters

DEFAULT_SEED = 20_240_601  # any fixed number; distinct from the training and sample-grid seeds


# A stream of its own for native-scale examples, so they never repeat the whole-scene ones' draws.
_NATIVE_STREAM = 99


def validation_examples(photos: PhotoSet, resolution: int, per_task: int, seed: int = DEFAULT_SEED,
                        min_crop_scale: float = 0.35, native: bool = False) -> list[dict[str, np.ndarray]]:
    """`per_task` examples of every task in TASKS order; example (task, j) depends only on (seed, task, j).
    `native`: the crops are `resolution` px of the photo as stored (data.py's native crops: fine texture at
    the scale a fill in a large photo works at) instead of 35–100 % of its short side resized."""
    out = []
    for t_index, task in enumerate(TASKS):
        for j in range(per_task):
            rng = np.random.default_rng([seed, _NATIVE_STREAM, t_index, j] if native else [seed, t_index, j])
            photo = photos.images[int(rng.integers(0, len(photos)))]
            out.append(make_example(random_crop(photo, rng, resolution, min_crop_scale, native=native), task, rng))
    return out


def gamma_grid(count: int, schedule: TrainingSchedule | None = None) -> np.ndarray:
    """γ_t at the midpoints of `count` equal bins of t ∈ {1..T}: from almost clean to almost pure noise."""
    schedule = schedule or TrainingSchedule()
    t = np.round((np.arange(count) + 0.5) * schedule.steps / count).astype(int).clip(1, schedule.steps)
    return schedule.gammas()[t]


def _noise(shape: tuple[int, ...], seed: int, example: int, level: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, example, level]).generate_state(1)[0]))
    return torch.randn(shape, generator=g)


@torch.no_grad()
def validation_loss(model: torch.nn.Module, examples: list[dict[str, np.ndarray]], gammas: np.ndarray,
                    seed: int = DEFAULT_SEED, batch_size: int = 32) -> dict:
    """Per-task, overall (tasks weighted equally) and per-γ mean ε-L2 over every (example, γ) pair."""
    model.eval()  # dropout off: the net as sampling uses it
    pairs = [(i, k) for i in range(len(examples)) for k in range(len(gammas))]
    losses = np.zeros((len(examples), len(gammas)), dtype=np.float64)
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        y0 = torch.stack([torch.from_numpy(examples[i]["y"]) for i, _ in chunk])
        cond = torch.stack([torch.from_numpy(examples[i]["cond"]) for i, _ in chunk])
        hole = torch.stack([torch.from_numpy(examples[i]["hole"]) for i, _ in chunk])
        gamma = torch.tensor([gammas[k] for _, k in chunk], dtype=torch.float32)
        noise = torch.stack([_noise(tuple(y0.shape[1:]), seed, i, k) for i, k in chunk])
        y_t = noisy_target(y0, gamma, noise, known=1 - hole)
        per_sample = eps_loss_per_sample(model(cond, y_t, gamma), noise, hole, "l2")
        for (i, k), value in zip(chunk, per_sample.tolist(), strict=True):
            losses[i, k] = value
    tasks = np.array([int(e["task"]) for e in examples])
    per_task = {name: float(losses[tasks == t].mean()) for t, name in enumerate(TASKS) if (tasks == t).any()}
    # Per example (mean over γ): two checkpoints scored on the same inputs can be compared pairwise.
    return {"loss": float(np.mean(list(per_task.values()))), "loss_per_task": per_task,
            "loss_per_gamma": [float(v) for v in losses.mean(axis=0)],
            "loss_per_example": [float(v) for v in losses.mean(axis=1)]}


def evaluate_checkpoint(path: str | Path, data: str | Path = "../../data/photos/val", resolution: int = 0,
                        per_task: int = 32, levels: int = 8, weights: str = "ema", seed: int = DEFAULT_SEED,
                        batch_size: int = 32, photos: PhotoSet | None = None, native: bool = False) -> dict:
    """The whole `val-loss` command; resolution 0 means the checkpoint's training resolution."""
    started = time.monotonic()
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    train_cfg = train_config_from_dict(checkpoint.get("train", {}))
    resolution = resolution or train_cfg.resolution
    net = PaletteUNet.from_checkpoint(checkpoint, weights)
    photos = photos or PhotoSet(data, train_cfg.max_short_side)
    gammas = gamma_grid(levels)
    examples = validation_examples(photos, resolution, per_task, seed, native=native)
    result = validation_loss(net, examples, gammas, seed, batch_size)
    return {"checkpoint": str(path), "weights": weights, "preset": train_cfg.preset,
            "parameters": count_parameters(net), "step": checkpoint.get("step"),
            "samples_seen": checkpoint.get("samples_seen"), "data": str(data), "photos": len(photos),
            "resolution": resolution, "native": native, "per_task": per_task,
            "gammas": [float(g) for g in gammas], "seed": seed,
            **result, "seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="palette_training val-loss", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", default="../../data/photos/val", help="held-out photos")
    parser.add_argument("--resolution", type=int, default=0, help="0: the checkpoint's training resolution")
    parser.add_argument("--per-task", type=int, default=32, help="validation examples per task")
    parser.add_argument("--levels", type=int, default=8, help="noise levels γ on the training schedule")
    parser.add_argument("--weights", choices=("ema", "model"), default="ema")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--native", action="store_true",
                        help="crops at the photos' stored scale (as training's --native-crop) instead of resized")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    result = evaluate_checkpoint(args.checkpoint, args.data, args.resolution, args.per_task, args.levels,
                                 args.weights, args.seed, args.batch_size, native=args.native)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0
