"""Samplers in PyTorch, for the sample grids written while training and for side-by-side benchmarks.

The daemon has its own (TypeScript) samplers; these follow the same definitions:
  ŷ0 = (y_t − √(1−γ)·ε̂) / √γ
  DDIM (η = 0): y_s = √γ_s · ŷ0 + √(1−γ_s) · ε̂
Known pixels (inpaint/uncrop) are pasted back after every step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (y_t, γ[B]) -> ε̂


def respaced_gammas(gamma_min: float, gamma_max: float, steps: int) -> np.ndarray:
    """`steps` noise levels from γ_min up to just below γ_max, evenly spaced in log-SNR, descending γ."""
    lam = lambda g: np.log(g) - np.log1p(-g)  # noqa: E731
    hi = min(gamma_max, 1.0 - 1e-6)
    lams = np.linspace(lam(gamma_min), lam(hi), steps)
    gammas = 1.0 / (1.0 + np.exp(-lams))  # ascending in λ = descending noise
    return np.clip(gammas, gamma_min, hi)  # the sigmoid round trip can land a few ulps below γ_min


@torch.no_grad()
def ddim_sample(denoise: Denoise, y0_known: torch.Tensor, known: torch.Tensor, gammas: np.ndarray,
                generator: torch.Generator) -> torch.Tensor:
    """Deterministic DDIM from pure noise at γ_min to ŷ0 at the last level, then the final ŷ0."""
    y = torch.randn(y0_known.shape, generator=generator, dtype=y0_known.dtype)
    g_seq = [float(g) for g in gammas]
    y = known * y0_known + (1 - known) * y
    y0_hat = y
    for i, g in enumerate(g_seq):
        gamma = torch.full((y.shape[0],), g, dtype=torch.float32)
        eps = denoise(y, gamma)
        y0_hat = ((y - (1 - g) ** 0.5 * eps) / g**0.5).clamp(-1, 1)
        if i + 1 < len(g_seq):
            g_next = g_seq[i + 1]
            eps = (y - g**0.5 * y0_hat) / (1 - g) ** 0.5  # re-derive ε after clipping ŷ0
            y = g_next**0.5 * y0_hat + (1 - g_next) ** 0.5 * eps
            y = known * y0_known + (1 - known) * y
    return known * y0_known + (1 - known) * y0_hat
