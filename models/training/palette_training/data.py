"""Training data: photos from a folder → random crops → one of the four Palette tasks per example.

Every example is a pure function of (seed, step, rank, index): the random crop, flip, task, mask,
JPEG quality and the noise in the hole all come from one generator seeded with those numbers. That
makes resuming a run bit-exact (step 1001 sees the same batch whether or not the run was restarted)
and lets DataLoader workers run in any order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .config import TASKS, TaskName
from .corruptions import fill_hole_with_noise, jpeg_compress, sample_jpeg_quality, to_luminance_rgb, to_model_range
from .masks import inpaint_mask, uncrop_mask

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def list_photos(root: str | Path) -> list[Path]:
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"no photos ({', '.join(sorted(PHOTO_SUFFIXES))}) under {root}")
    return files


def load_photo(path: Path, max_short_side: int) -> np.ndarray:
    """Decode to RGB uint8 [H,W,3], downscaled (antialiased) so the short side is at most max_short_side."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        short = min(im.size)
        if short > max_short_side:
            scale = max_short_side / short
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.BICUBIC)
        return np.asarray(im, dtype=np.uint8).copy()


class PhotoSet:
    """Every photo of a folder decoded once and held in memory (forked workers share the pages)."""

    def __init__(self, root: str | Path, max_short_side: int = 384) -> None:
        self.paths = list_photos(root)
        self.images = [load_photo(p, max_short_side) for p in self.paths]

    def __len__(self) -> int:
        return len(self.images)


def random_crop(photo: np.ndarray, rng: np.random.Generator, resolution: int, min_scale: float,
                native: bool = False) -> np.ndarray:
    """A square crop with side ∈ [min_scale, 1] × short side, resized to resolution, flipped half the time.

    `native`: the crop is `resolution` pixels of the photo as stored, not resized, so the net also sees
    fine texture at the scale users edit (whole-scene thumbnails alone teach it only coarse structure).
    """
    h, w = photo.shape[:2]
    short = min(h, w)
    if native and short >= resolution:
        side = resolution
    else:
        side = max(8, int(round(short * rng.uniform(min_scale, 1.0))))
    top = int(rng.integers(0, h - side + 1))
    left = int(rng.integers(0, w - side + 1))
    crop = Image.fromarray(photo[top : top + side, left : left + side])
    if side != resolution:
        crop = crop.resize((resolution, resolution), Image.BICUBIC, reducing_gap=None)
    out = np.asarray(crop, dtype=np.uint8)
    return out[:, ::-1].copy() if rng.random() < 0.5 else out.copy()


def make_example(y_u8: np.ndarray, task: TaskName, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """(target y, source x, hole) for one task. x is what the user would give the product."""
    h, w = y_u8.shape[:2]
    y = to_model_range(y_u8)
    if task in ("inpaint", "uncrop"):
        hole = inpaint_mask(h, w, rng) if task == "inpaint" else uncrop_mask(h, w, rng)
        cond = fill_hole_with_noise(y, hole, rng)  # the paper: the hole in x is N(0, 1) noise
    elif task == "colorize":
        hole = np.ones((h, w), dtype=bool)
        cond = to_model_range(to_luminance_rgb(y_u8))
    else:
        hole = np.ones((h, w), dtype=bool)
        cond = to_model_range(jpeg_compress(y_u8, sample_jpeg_quality(rng)))
    return {"y": y, "cond": cond.astype(np.float32), "hole": hole[None].astype(np.float32),
            "task": np.int64(TASKS.index(task))}


class TaskExamples(torch.utils.data.Dataset):
    """Indexed by (step, rank, i[, resolution]); see the module docstring for why."""

    def __init__(self, photos: PhotoSet, resolution: int, task_mix: dict[str, float], min_crop_scale: float,
                 seed: int, native_crop: float = 0.0) -> None:
        self.photos = photos
        self.resolution = resolution
        self.tasks: list[TaskName] = list(TASKS)
        self.task_probs = np.array([task_mix[t] for t in self.tasks])
        self.min_crop_scale = min_crop_scale
        self.seed = seed
        self.native_crop = native_crop

    def __len__(self) -> int:  # the key space is unbounded; DataLoader only needs this to exist
        return 2**62

    def __getitem__(self, key: tuple[int, ...]) -> dict[str, np.ndarray]:
        step, rank, i = key[:3]
        resolution = key[3] if len(key) > 3 else self.resolution
        rng = np.random.default_rng([self.seed, step, rank, i])
        photo = self.photos.images[int(rng.integers(0, len(self.photos)))]
        task = self.tasks[int(rng.choice(len(self.tasks), p=self.task_probs))]
        # Drawn only when enabled, so a run without native crops sees exactly the examples it always did.
        native = self.native_crop > 0 and rng.random() < self.native_crop
        y_u8 = random_crop(photo, rng, resolution, self.min_crop_scale, native)
        return make_example(y_u8, task, rng)


def parse_scales(spec: str) -> dict[int, float]:
    """"64:0.85,128:0.15" → {64: 0.85, 128: 0.15}: the share of steps trained at each crop size."""
    out: dict[int, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        size, _, share = part.partition(":")
        if not size.isdigit() or int(size) <= 0:
            raise ValueError(f"--scales: {part!r} is not SIZE:SHARE")
        out[int(size)] = float(share or 1.0)
    if out and (sum(out.values()) <= 0 or any(v < 0 for v in out.values())):
        raise ValueError(f"--scales: shares must be non-negative with a positive sum: {spec!r}")
    return out


class ScaleBuckets:
    """Which crop size each step trains at, and its batch size (one size per batch: no padding).

    The batch holds the same number of pixels at every size (16 at 64² is 4 at 128²), so a step's
    memory and the gradient noise per pixel stay alike. The size is a pure function of (seed, step),
    shared by all ranks, so resume stays exact and DDP ranks stay in lockstep.
    """

    def __init__(self, resolution: int, batch_size: int, spec: str = "", seed: int = 0) -> None:
        shares = parse_scales(spec) or {resolution: 1.0}
        self.sizes = sorted(shares)
        total = sum(shares.values())
        self.probs = np.array([shares[s] / total for s in self.sizes])
        self.base_pixels = batch_size * resolution * resolution
        self.seed = seed

    def resolution(self, step: int) -> int:
        if len(self.sizes) == 1:
            return self.sizes[0]
        rng = np.random.default_rng([self.seed, step, 0x5CA1E])
        return self.sizes[int(rng.choice(len(self.sizes), p=self.probs))]

    def batch_size(self, resolution: int) -> int:
        return max(1, round(self.base_pixels / (resolution * resolution)))


class StepKeys(torch.utils.data.Sampler):
    """Yields the keys of one batch per step, from `start_step` on (a batch sampler)."""

    def __init__(self, start_step: int, buckets: ScaleBuckets, rank: int) -> None:
        self.start_step, self.buckets, self.rank = start_step, buckets, rank

    def __iter__(self) -> Iterator[list[tuple[int, int, int, int]]]:
        step = self.start_step
        while True:
            res = self.buckets.resolution(step)
            yield [(step, self.rank, i, res) for i in range(self.buckets.batch_size(res))]
            step += 1


def batches(dataset: TaskExamples, start_step: int, buckets: ScaleBuckets | int, rank: int,
            num_workers: int) -> Iterator[dict]:
    """Batches from `start_step` on; workers prepare crops, masks and JPEGs ahead of the training step.
    An int instead of buckets means one size (the dataset's) at that batch size."""
    if isinstance(buckets, int):
        buckets = ScaleBuckets(dataset.resolution, buckets)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=StepKeys(start_step, buckets, rank), num_workers=num_workers,
        persistent_workers=num_workers > 0, prefetch_factor=4 if num_workers > 0 else None,
    )
    return iter(loader)


def fixed_examples(photos: PhotoSet, resolution: int, per_task: int, seed: int = 1234) -> list[dict[str, np.ndarray]]:
    """The same few examples of every task, for the sample grids written during training."""
    out = []
    for t_index, task in enumerate(TASKS):
        for j in range(per_task):
            rng = np.random.default_rng([seed, t_index, j])
            photo = photos.images[(j * 7919 + t_index) % len(photos)]
            out.append(make_example(random_crop(photo, rng, resolution, 0.8), task, rng))
    return out
