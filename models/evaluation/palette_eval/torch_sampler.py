"""PyTorch eager sampling with a training checkpoint's EMA weights: the other side of the speed comparison.

The schedule and the update are the daemon's DDIM with η = 0 (daemon/sampling/samplers.ts sampleDdim),
taken from the training package so there is one Python definition of each:
  - levels: `respaced_gammas(γ_min, γ_max, steps)`, evenly spaced in λ = log(γ/(1−γ)) between the
    manifest's gamma_range (ascending γ, the noisiest first), as the daemon's `respacedGammas`;
  - update: `ddim_sample`: ŷ0 = clip((y_t − √(1−γ_t)·ε̂)/√γ_t), ε re-derived from the clipped ŷ0,
    y_s = √γ_s·ŷ0 + √(1−γ_s)·ε, known pixels pasted after every step; one model call per level.
For inpainting x has its hole filled with N(0, 1) noise, as the daemon's job runner does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from palette_training.corruptions import from_model_range, to_model_range
from palette_training.sampling import ddim_sample, respaced_gammas
from palette_training.unet import PaletteUNet


def load_ema_unet(checkpoint_path: Path) -> tuple[PaletteUNet, dict]:
    """The EMA network of a training checkpoint (sampling with the raw weights is a known pitfall),
    and the checkpoint's metadata (unet config, step)."""
    ckpt = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    net = PaletteUNet.from_checkpoint(ckpt, "ema")
    return net, {"unet": ckpt["unet"], "step": ckpt.get("step")}


@torch.inference_mode()
def inpaint_ddim(net: PaletteUNet, image_u8: np.ndarray, hole: np.ndarray, variants: int, steps: int,
                 gamma_range: tuple[float, float], seed: int) -> np.ndarray:
    """`variants` inpaintings of one image as one batch; returns uint8 [V, H, W, 3]."""
    generator = torch.Generator().manual_seed(seed)
    clean = torch.from_numpy(to_model_range(image_u8))[None].repeat(variants, 1, 1, 1)
    hole_t = torch.from_numpy(hole.astype(np.float32))[None, None]
    cond = torch.where(hole_t > 0, torch.randn(clean.shape, generator=generator), clean)
    gammas = respaced_gammas(gamma_range[0], gamma_range[1], steps)
    out = ddim_sample(lambda y, g: net(cond, y, g), clean, 1 - hole_t, gammas, generator)
    return np.stack([from_model_range(o.numpy()) for o in out])
