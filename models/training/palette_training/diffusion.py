"""Palette's diffusion process (SR3 / Palette notation).

    y_t = √γ · y_0 + √(1 − γ) · ε,   ε ~ N(0, I)

γ is the cumulative signal fraction ᾱ. Training draws γ continuously: t ~ U{1..T}, then
γ ~ U(γ_t, γ_{t−1}) on the training schedule (linear β from 1e-6 to 0.01, T = 2000). The network
predicts ε and is trained with an L2 (or L1) loss on it; for inpainting and uncropping the loss covers
only the hole, and the known pixels of y_t are the clean ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class TrainingSchedule:
    beta_start: float = 1e-6
    beta_end: float = 0.01
    steps: int = 2000

    def gammas(self) -> np.ndarray:
        """γ_0 = 1, γ_1 … γ_T (float64, length T + 1)."""
        betas = np.linspace(self.beta_start, self.beta_end, self.steps, dtype=np.float64)
        return np.concatenate([[1.0], np.cumprod(1.0 - betas)])

    def gamma_range(self) -> tuple[float, float]:
        """The γ interval the network sees in training; samplers must stay inside it."""
        g = self.gammas()
        return float(g[-1]), float(g[0])

    def describe(self) -> dict:
        lo, hi = self.gamma_range()
        return {"kind": "linear-beta", "beta_start": self.beta_start, "beta_end": self.beta_end,
                "steps": self.steps, "gamma_min": lo, "gamma_max": hi}


def sample_gamma(schedule_gammas: torch.Tensor, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """t ~ U{1..T}, γ ~ U(γ_t, γ_{t−1}) — continuous, so any schedule inside the range works at inference."""
    steps = schedule_gammas.numel() - 1
    t = torch.randint(1, steps + 1, (batch,), generator=generator)
    lo, hi = schedule_gammas[t], schedule_gammas[t - 1]
    u = torch.rand(batch, generator=generator, dtype=torch.float64)
    return (lo + (hi - lo) * u).float()


def noisy_target(y0: torch.Tensor, gamma: torch.Tensor, noise: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """y_t = √γ·y0 + √(1−γ)·ε inside the hole; the clean y0 where `known` is 1 (inpaint/uncrop)."""
    g = gamma.to(y0.dtype)[:, None, None, None]
    y_t = g.sqrt() * y0 + (1 - g).sqrt() * noise
    return known * y0 + (1 - known) * y_t


def eps_loss_per_sample(eps_pred: torch.Tensor, eps: torch.Tensor, hole: torch.Tensor,
                        kind: str = "l2", gamma: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over hole pixels of |ε̂ − ε|^p, one value per sample ([B]).

    `hole` is [B,1,H,W], 1 where the model generates (all ones for colorization and JPEG restoration).
    Normalising per sample keeps a 10% hole and a full image equally weighted in the batch.
    With `gamma` (v-prediction nets) the loss is on v instead: ε̂ = √γ·v̂ + √(1−γ)·y_t makes
    ε̂ − ε = √γ·(v̂ − v) exactly, so (ε̂ − ε)/√γ is the v error.
    """
    err = (eps_pred.float() - eps.float())
    if gamma is not None:
        err = err / gamma.float().sqrt()[:, None, None, None]
    err = err.square() if kind == "l2" else err.abs()
    return (err * hole).sum(dim=(1, 2, 3)) / (hole.sum(dim=(1, 2, 3)) * err.shape[1]).clamp_min(1.0)


def eps_loss(eps_pred: torch.Tensor, eps: torch.Tensor, hole: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    """The training loss: the per-sample loss averaged over the batch."""
    return eps_loss_per_sample(eps_pred, eps, hole, kind).mean()
