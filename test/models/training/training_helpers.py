"""Shared bits of the training tests: a folder of synthetic photos and a fast tiny config."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from palette_training.config import TrainConfig
from palette_training.fixture import draw_synthetic_photo


def synthetic_photos(folder: Path, count: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        draw_synthetic_photo(rng, size=64).save(folder / f"photo-{i:02d}.png")
    return folder


def tiny_config(data: Path, out: Path, **overrides: object) -> TrainConfig:
    values: dict = dict(preset="tiny", data=str(data), out=str(out), resolution=16, batch_size=4, steps=4,
                        warmup_steps=2, lr=1e-3, seed=7, log_every=1, sample_every=10**9, ckpt_every=10**9,
                        sample_steps=3, device="cpu", num_workers=0)
    values.update(overrides)
    return TrainConfig(**values)
