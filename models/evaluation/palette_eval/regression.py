"""The paper's regression baseline slot: the same U-Net trained with an L2 loss to map x to y directly.

The training package has no regression trainer yet, so this slot reads "not trained" unless
`--regression-checkpoint` is given. The checkpoint format is the training package's (a dict with the
"unet" config and the "ema" state dict, `torch.load`-able) plus `"objective": "regression"`; the network
is called as f(x, 0, γ = 1) and its output is the clean image ŷ in [-1, 1] (not ε). x is built as for
the diffusion model (models/README.md): noise-filled holes for inpainting and uncropping, luminance
for colorization, the decoded JPEG for restoration. Known pixels are pasted back for the hole tasks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cases import Prepared

REGRESSION_OBJECTIVE = "regression"


class RegressionModel:
    def __init__(self, checkpoint_path: Path, threads: int | None = None) -> None:
        import torch

        from palette_training.config import unet_config_from_dict
        from palette_training.unet import PaletteUNet

        if threads:
            torch.set_num_threads(threads)
        ckpt = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        if ckpt.get("objective") != REGRESSION_OBJECTIVE:
            raise ValueError(f"{checkpoint_path} is not a regression checkpoint (it needs \"objective\": "
                             f"\"{REGRESSION_OBJECTIVE}\"; a diffusion checkpoint predicts ε, not ŷ)")
        self.net = PaletteUNet(unet_config_from_dict(ckpt["unet"]))
        self.net.load_state_dict(ckpt.get("ema") or ckpt["model"])
        self.net.eval()
        self.size_multiple = self.net.cfg.size_multiple

    def predict(self, p: Prepared, seed: int) -> np.ndarray:
        import torch

        from palette_training.corruptions import from_model_range, to_model_range

        s = p.original.shape[0]
        if s % self.size_multiple:
            raise ValueError(f"the evaluation size {s} is not a multiple of {self.size_multiple}")
        if p.hole is not None:
            x = to_model_range(p.original)
            noise = np.random.default_rng([seed, p.photo.index, 1]).standard_normal(x.shape).astype(np.float32)
            x[:, p.hole] = noise[:, p.hole]
        else:
            x = to_model_range(p.product_image)
        cond = torch.from_numpy(x)[None]
        with torch.no_grad():
            y = self.net(cond, torch.zeros_like(cond), torch.ones(1))[0].clamp(-1, 1).numpy()
        out = from_model_range(y)
        if p.hole is not None:
            out = np.where(p.hole[..., None], out, p.original)
        return out
