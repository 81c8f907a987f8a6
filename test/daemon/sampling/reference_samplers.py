"""Reference samplers in numpy: the golden values for daemon/sampling (samplers.test.ts, schedules.test.ts).

Regenerate the fixture (from the repository root):

    models/training/.venv/bin/python test/daemon/sampling/reference_samplers.py

It writes test/fixtures/sampler-golden.json. This is an independent implementation, written from the
formulas (Palette's ancestral step, DDIM with η, DPM-Solver++(2M)), not from the TypeScript. Both sides
share only the contract: float32 tensors (y_t, ε̂, ŷ₀ stored as float32 after every update, arithmetic
in float64), the noise read in order from a fixed bank (so the PRNG is not part of the comparison), and
the analytic test denoiser below, defined identically in samplers.test.ts:

    y_w = y shifted by one column (y[..., (w+1) mod W]),  y_c = y shifted by one channel (y[(c+1) mod 3])
    T   = tanh(1.5·x + 0.8·√γ·(y + 0.3·y_w − 0.2·y_c))
    ε̂   = (y − √γ·T)/√(1−γ) + 0.3·√γ·sin(2·y_w + x)

so that ŷ₀ = T − 0.3·√(1−γ)·sin(2·y_w + x): nonlinear, γ-dependent, mixing pixels and channels, close to
[-1, 1] (clipping happens near ±1), and the trajectory stays in range like a real denoiser's.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "test" / "fixtures" / "sampler-golden.json"
F32 = np.float32
F64 = np.float64

# ---------------------------------------------------------------------------------------------- schedules


def linear_beta_gammas(beta_start: float, beta_end: float, steps: int) -> np.ndarray:
    """γ_t = ∏_{τ ≤ t}(1 − β_τ) for t = 0 … T (γ_0 = 1)."""
    betas = np.linspace(beta_start, beta_end, steps, dtype=F64)
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def training_gammas() -> np.ndarray:
    return linear_beta_gammas(1e-6, 0.01, 2000)


def respaced(gamma_min: float, gamma_max: float, steps: int) -> np.ndarray:
    """Ascending γ, evenly spaced in λ = log(γ/(1−γ)) from γ_min to min(γ_max, 1 − 1e-6)."""
    top = min(gamma_max, 1.0 - 1e-6)
    lam = np.linspace(np.log(gamma_min / (1.0 - gamma_min)), np.log(top) - np.log1p(-top), steps)
    return np.clip(np.exp(lam) / (1.0 + np.exp(lam)), gamma_min, top)  # no level outside by rounding


def paper_clipped(gamma_min: float, gamma_max: float) -> np.ndarray:
    """Paper inference schedule (β 1e-4 … 0.09, 1000 steps) from t = 1000 to 1, levels < γ_min dropped,
    levels > γ_max clamped and merged."""
    g = linear_beta_gammas(1e-4, 0.09, 1000)[1:][::-1]
    g = np.minimum(g[g >= gamma_min], gamma_max)
    keep = np.concatenate([[True], g[1:] != g[:-1]])
    return g[keep]


# ---------------------------------------------------------------------------------------------- denoiser


def test_denoiser(x: np.ndarray) -> Callable[[np.ndarray, float], np.ndarray]:
    x64 = x.astype(F64)

    def eps_hat(y: np.ndarray, gamma: float) -> np.ndarray:
        y64 = y.astype(F64)
        y_w = np.roll(y64, -1, axis=3)
        y_c = np.roll(y64, -1, axis=1)
        sg, sn = np.sqrt(gamma), np.sqrt(1.0 - gamma)
        t = np.tanh(1.5 * x64 + 0.8 * sg * (y64 + 0.3 * y_w - 0.2 * y_c))
        return ((y64 - sg * t) / sn + 0.3 * sg * np.sin(2.0 * y_w + x64)).astype(F32)

    return eps_hat


# ---------------------------------------------------------------------------------------------- samplers


class Run:
    """One sampling run: noise drawn in order from the bank, model calls counted, ŷ₀ per step kept."""

    def __init__(self, bank: np.ndarray, shape: tuple[int, ...], x: np.ndarray, known: dict | None):
        self.bank, self.shape, self.used = bank, shape, 0
        self.eps_model = test_denoiser(x)
        self.calls, self.noise_calls, self.x0s = 0, 0, []
        self.mask = None if known is None else known["mask"][None, None].astype(F64)
        self.values = None if known is None else known["values"].astype(F64)

    def z(self) -> np.ndarray:
        n = int(np.prod(self.shape))
        out = self.bank[self.used:self.used + n]
        assert out.size == n, "noise bank too small"
        self.used += n
        self.noise_calls += 1
        return out.reshape(self.shape)

    def paste(self, a: np.ndarray) -> np.ndarray:
        a = a.astype(F32)
        if self.mask is None:
            return a
        return (self.mask * self.values + (1.0 - self.mask) * a.astype(F64)).astype(F32)

    def eps(self, y: np.ndarray, gamma: float) -> np.ndarray:
        self.calls += 1
        return self.eps_model(y, gamma).astype(F64)

    def x0(self, y: np.ndarray, eps: np.ndarray, gamma: float) -> np.ndarray:
        """Clipped ŷ₀ with known pixels, recorded for the step."""
        x0 = self.paste(np.clip((y.astype(F64) - np.sqrt(1.0 - gamma) * eps) / np.sqrt(gamma), -1.0, 1.0))
        self.x0s.append(x0)
        return x0


def ancestral(run: Run, gammas: np.ndarray) -> np.ndarray:
    y = run.paste(run.z())
    for t in range(len(gammas)):
        g_t = float(gammas[t])
        eps = run.eps(y, g_t)
        x0 = run.x0(y, eps, g_t)
        if t == len(gammas) - 1:
            return x0
        alpha_t = g_t / float(gammas[t + 1])
        mean = (y.astype(F64) - (1.0 - alpha_t) / np.sqrt(1.0 - g_t) * eps) / np.sqrt(alpha_t)
        y = run.paste(mean + np.sqrt(1.0 - alpha_t) * run.z().astype(F64))
    raise AssertionError("empty schedule")


def ddim(run: Run, gammas: np.ndarray, eta: float) -> np.ndarray:
    y = run.paste(run.z())
    for t in range(len(gammas)):
        g_t = float(gammas[t])
        eps = run.eps(y, g_t)
        x0 = run.x0(y, eps, g_t).astype(F64)
        if t == len(gammas) - 1:
            return x0.astype(F32)
        g_s = float(gammas[t + 1])
        eps = (y.astype(F64) - np.sqrt(g_t) * x0) / np.sqrt(1.0 - g_t)
        sigma = eta * np.sqrt((1.0 - g_s) / (1.0 - g_t) * (1.0 - g_t / g_s))
        y_s = np.sqrt(g_s) * x0 + np.sqrt(1.0 - g_s - sigma**2) * eps
        if eta > 0:
            y_s = y_s + sigma * run.z().astype(F64)
        y = run.paste(y_s)
    raise AssertionError("empty schedule")


def dpm_solver_pp_2m(run: Run, gammas: np.ndarray) -> np.ndarray:
    alphas, sigmas = np.sqrt(gammas), np.sqrt(1.0 - gammas)
    lambdas = np.log(alphas / sigmas)
    n = len(gammas)
    y = run.paste(run.z())
    history: list[np.ndarray] = []
    for i in range(n):
        eps = run.eps(y, float(gammas[i]))
        history.append(run.x0(y, eps, float(gammas[i])).astype(F64))
        if i == n - 1:
            return history[-1].astype(F32)
        h = lambdas[i + 1] - lambdas[i]
        if i == 0 or i == n - 2:
            d = history[-1]
        else:
            r = (lambdas[i] - lambdas[i - 1]) / h
            d = (1.0 + 0.5 / r) * history[-1] - (0.5 / r) * history[-2]
        y = run.paste(sigmas[i + 1] / sigmas[i] * y.astype(F64) - alphas[i + 1] * np.expm1(-h) * d)
    raise AssertionError("empty schedule")


# ---------------------------------------------------------------------------------------------- fixture


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def cross_check_with_training_package(gamma_min: float) -> None:
    """The schedules above must equal palette_training's (needs torch; skipped if it is not importable)."""
    sys.path.insert(0, str(ROOT / "models" / "training"))
    try:
        from palette_training.diffusion import TrainingSchedule
        from palette_training.sampling import respaced_gammas
    except ImportError as e:  # pragma: no cover
        print(f"skipping the cross-check with palette_training: {e}")
        return
    assert np.array_equal(TrainingSchedule().gammas(), training_gammas())
    for lo, hi, steps in [(gamma_min, 1.0, 8), (1e-3, 0.999, 9)]:
        np.testing.assert_allclose(respaced_gammas(lo, hi, steps), respaced(lo, hi, steps), rtol=1e-14, atol=0)
    print("schedules agree with palette_training")


def main() -> None:
    rng = np.random.default_rng(20221110)
    tg = training_gammas()
    g_min, g_max = float(tg[-1]), float(tg[0])
    cross_check_with_training_package(g_min)
    paper = paper_clipped(g_min, g_max)
    uneven = paper[::67]  # 7 levels, unevenly spaced in λ (r ≠ 1 in DPM-Solver++)

    specs = [
        ("ancestral-respaced-8", "ancestral", None, (2, 4, 5), respaced(g_min, g_max, 8), False),
        ("ancestral-respaced-8-known", "ancestral", None, (2, 4, 5), respaced(g_min, g_max, 8), True),
        ("ddim-eta0-7", "ddim", 0.0, (2, 4, 5), respaced(g_min, g_max, 7), False),
        ("ddim-eta0.5-9-known", "ddim", 0.5, (2, 4, 5), respaced(1e-3, 0.999, 9), True),
        ("ddim-eta1-6", "ddim", 1.0, (2, 4, 5), respaced(g_min, g_max, 6), False),
        ("ddim-eta0-uneven-known", "ddim", 0.0, (2, 4, 5), uneven, True),
        ("dpmpp-2m-6", "dpmpp-2m", None, (2, 4, 5), respaced(g_min, g_max, 6), False),
        ("dpmpp-2m-10-known", "dpmpp-2m", None, (2, 4, 5), respaced(g_min, g_max, 10), True),
        ("dpmpp-2m-uneven", "dpmpp-2m", None, (2, 4, 5), uneven, False),
        ("ancestral-paper-clipped", "ancestral", None, (2, 1, 2), paper, False),
        ("ancestral-paper-clipped-known", "ancestral", None, (2, 1, 2), paper, True),
    ]
    bank_size = max(len(g) * b * 3 * h * w for _, _, _, (b, h, w), g, _ in specs)
    bank = rng.standard_normal(bank_size).astype(F32)

    cases = []
    for name, sampler, eta, (b, h, w), gammas, with_known in specs:
        shape = (b, 3, h, w)
        x = rng.uniform(-1, 1, shape).astype(F32)
        known = None
        if with_known:
            mask = np.zeros((h, w), F32)
            mask[: h // 2 + 1, : w // 2] = 1.0  # a known block in the top-left corner
            known = {"mask": mask, "values": rng.uniform(-0.9, 0.9, shape).astype(F32)}
        run = Run(bank, shape, x, known)
        if sampler == "ancestral":
            result = ancestral(run, gammas)
        elif sampler == "ddim":
            result = ddim(run, gammas, float(eta))
        else:
            result = dpm_solver_pp_2m(run, gammas)
        assert run.calls == len(gammas)
        n = len(gammas)
        steps = sorted({1, 2, 3, n // 2, n - 1, n} | (set(range(50, n, 50)) if n > 20 else set()))
        cases.append({
            "name": name, "sampler": sampler, "eta": eta, "shape": {"batch": b, "height": h, "width": w},
            # the paper schedule (468 levels) is stored once, under schedules.paper_clipped[0]
            "gammas": "paper_clipped[0]" if gammas is paper else [float(g) for g in gammas], "cond": b64(x),
            "known": None if known is None else {"mask": b64(known["mask"]), "values": b64(known["values"])},
            "model_calls": run.calls, "noise_calls": run.noise_calls,
            "x0_at_step": {str(s): b64(run.x0s[s - 1]) for s in steps},
            "result": b64(result),
            "clipped_fraction": float(np.mean([np.mean(np.abs(a) == 1.0) for a in run.x0s])),
        })

    paper_45 = paper_clipped(4.5e-5, 1.0)
    fixture = {
        "about": "Golden values for daemon/sampling. Regenerate: "
                 "models/training/.venv/bin/python test/daemon/sampling/reference_samplers.py",
        "denoiser": "T = tanh(1.5x + 0.8√γ(y + 0.3y_w − 0.2y_c)); ε̂ = (y − √γT)/√(1−γ) + 0.3√γ·sin(2y_w + x)",
        "tensor_encoding": "base64 of little-endian float32, NCHW ([H,W] for masks)",
        "noise_bank": b64(bank),
        "schedules": {
            "training_gammas_at": {str(t): float(tg[t]) for t in (0, 1, 2, 1000, 1999, 2000)},
            "training_gamma_range": [g_min, g_max],
            "respaced": [
                {"gamma_min": lo, "gamma_max": hi, "steps": s, "gammas": [float(v) for v in respaced(lo, hi, s)]}
                for lo, hi, s in [(g_min, g_max, 8), (g_min, g_max, 50), (1e-3, 0.999, 9), (0.01, 0.5, 2)]
            ],
            "paper_clipped": [
                {"gamma_range": [g_min, g_max], "gammas": [float(v) for v in paper]},
                {"gamma_range": [1e-3, 0.5], "gammas": [float(v) for v in paper_clipped(1e-3, 0.5)]},
            ],
            "paper_kept_count": {"4.5e-05": len(paper_45), "training": len(paper)},
        },
        "cases": cases,
    }
    OUT.write_text(json.dumps(fixture) + "\n")
    for c in cases:
        print(f"{c['name']:32s} levels {len(c['gammas']):4d}  noise calls {c['noise_calls']:4d}  "
              f"clipped {c['clipped_fraction']:.2f}")
    print(f"paper schedule: {len(paper)} levels kept with the training range, {len(paper_45)} with γ_min = 4.5e-5")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
