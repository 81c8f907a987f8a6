"""Image metrics that run offline with numpy and scipy (no pretrained network anywhere).

Images are ``[H, W, 3]`` arrays on the 0..255 scale (uint8, or float for intermediate values).

    psnr            peak signal-to-noise ratio against the original, in dB (peak 255)
    ssim            structural similarity (Wang et al. 2004): 11×11 Gaussian window with σ = 1.5,
                    K1 = 0.01, K2 = 0.03, L = 255, on each RGB channel, mean over every pixel (borders
                    reflected) and the channels. The usual "valid region only" would drop 5 px on each
                    side, which at 64 px is a third of the image and most of an uncrop border.
    ms_ssim         multi-scale SSIM (Wang, Simoncelli & Bovik 2003): contrast-structure at every scale,
                    luminance at the coarsest, 2×2 average pooling between scales, the standard weights
                    (0.0448, 0.2856, 0.3001, 0.2363, 0.1333). Five scales need a short side of at least
                    11·2⁴ = 176 px; smaller images use the largest number of scales whose coarsest level
                    still holds one 11×11 window (3 at 64 px, 2 at 32 px) with the first weights
                    renormalised to sum to 1.
    swd             sliced Wasserstein distance between Laplacian-pyramid patch distributions (Karras et al.
                    2018, "Progressive Growing of GANs", appendix D), ×10³ per level and their mean
    colourfulness   Hasler & Süsstrunk (2003): σ_rgyb + 0.3·μ_rgyb on the opponent channels
                    rg = R − G and yb = (R + G)/2 − B
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# ---------------------------------------------------------------------------------------------------
# PSNR


def psnr(output: np.ndarray, reference: np.ndarray, peak: float = 255.0) -> float:
    """10·log10(peak² / MSE) over every pixel and channel; +inf for identical images."""
    _check_pair(output, reference)
    mse = float(np.mean((output.astype(np.float64) - reference.astype(np.float64)) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * float(np.log10(peak * peak / mse))


# ---------------------------------------------------------------------------------------------------
# SSIM and MS-SSIM

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_taps(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    taps = np.exp(-(x**2) / (2 * sigma**2))
    return taps / taps.sum()


def _window_mean(plane: np.ndarray) -> np.ndarray:
    """Gaussian-weighted local means at every pixel, the image reflected beyond its borders."""
    taps = _gaussian_taps()
    out = ndimage.correlate1d(plane, taps, axis=0, mode="reflect")
    return ndimage.correlate1d(out, taps, axis=1, mode="reflect")


def _ssim_terms(x: np.ndarray, y: np.ndarray, peak: float = 255.0) -> tuple[float, float]:
    """Mean SSIM and mean contrast-structure term of two 2-D float64 planes."""
    if min(x.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels, got {x.shape}")
    c1 = (SSIM_K1 * peak) ** 2
    c2 = (SSIM_K2 * peak) ** 2
    mu_x, mu_y = _window_mean(x), _window_mean(y)
    var_x = _window_mean(x * x) - mu_x**2
    var_y = _window_mean(y * y) - mu_y**2
    cov = _window_mean(x * y) - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    return float(np.mean(luminance * cs)), float(np.mean(cs))


def ssim(output: np.ndarray, reference: np.ndarray) -> float:
    """Mean SSIM over all pixels of each RGB channel, averaged over the channels."""
    _check_pair(output, reference)
    a, b = output.astype(np.float64), reference.astype(np.float64)
    return float(np.mean([_ssim_terms(a[..., c], b[..., c])[0] for c in range(a.shape[2])]))


def ms_ssim_scales(height: int, width: int) -> int:
    """How many of the 5 standard scales fit: the coarsest must still hold one 11×11 window."""
    scales = 0
    h, w = height, width
    while scales < len(MS_SSIM_WEIGHTS) and min(h, w) >= SSIM_WINDOW:
        scales += 1
        h, w = h // 2, w // 2
    if scales == 0:
        raise ValueError(f"MS-SSIM needs at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels, got {height}×{width}")
    return scales


def _pool2(plane: np.ndarray) -> np.ndarray:
    """2×2 average pooling (an odd last row or column is dropped)."""
    h, w = plane.shape[0] // 2 * 2, plane.shape[1] // 2 * 2
    p = plane[:h, :w]
    return (p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]) / 4


def ms_ssim(output: np.ndarray, reference: np.ndarray, scales: int | None = None) -> float:
    """MS-SSIM = ∏_{j<M} cs_j^{w_j} · ssim_M^{w_M}, per channel, averaged over the channels.

    Negative terms are clipped to 0 before the fractional powers (as common implementations do).
    """
    _check_pair(output, reference)
    m = scales or ms_ssim_scales(output.shape[0], output.shape[1])
    weights = np.array(MS_SSIM_WEIGHTS[:m]) / sum(MS_SSIM_WEIGHTS[:m])
    per_channel = []
    for c in range(output.shape[2]):
        x = output[..., c].astype(np.float64)
        y = reference[..., c].astype(np.float64)
        value = 1.0
        for j in range(m):
            full, cs = _ssim_terms(x, y)
            term = full if j == m - 1 else cs
            value *= max(term, 0.0) ** weights[j]
            x, y = _pool2(x), _pool2(y)
        per_channel.append(value)
    return float(np.mean(per_channel))


def mean_pairwise_ms_ssim(images: list[np.ndarray]) -> float:
    """Diversity of the variants of one input: mean MS-SSIM over all pairs (lower = more diverse)."""
    if len(images) < 2:
        raise ValueError("diversity needs at least two variants")
    values = [ms_ssim(images[i], images[j]) for i in range(len(images)) for j in range(i + 1, len(images))]
    return float(np.mean(values))


# ---------------------------------------------------------------------------------------------------
# Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, appendix D)

SWD_PATCH = 7  # 7×7 neighbourhoods
SWD_MIN_RESOLUTION = 16  # the coarsest pyramid level
SWD_DIRECTIONS = 512  # random projections (4 repeats × 128 in the paper's code, one pool here)
_BINOMIAL5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(image: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """5×5 binomial filter per channel, mirrored borders; `gain` scales the taps (4 for upsampling)."""
    out = ndimage.correlate1d(image, _BINOMIAL5 * np.sqrt(gain), axis=0, mode="mirror")
    return ndimage.correlate1d(out, _BINOMIAL5 * np.sqrt(gain), axis=1, mode="mirror")


def _downsample(image: np.ndarray) -> np.ndarray:
    return _blur(image)[::2, ::2]


def _upsample(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Zeros between the samples, then the binomial filter with gain 4 (keeps the mean)."""
    up = np.zeros(shape, dtype=np.float64)
    up[::2, ::2] = image
    return _blur(up, gain=4.0)


def swd_resolutions(height: int, width: int) -> list[int]:
    """The pyramid levels' short sides, finest first, down to 16 px (the paper's lowest level)."""
    sides, side = [], min(height, width)
    while side >= SWD_MIN_RESOLUTION and side >= SWD_PATCH:
        sides.append(side)
        side //= 2
    if not sides:
        raise ValueError(f"SWD needs images of at least {SWD_MIN_RESOLUTION} px, got {height}×{width}")
    return sides


def laplacian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """Band-pass levels (finest first), the last one the low-pass Gaussian level itself."""
    gaussian = [image.astype(np.float64)]
    for _ in range(levels - 1):
        gaussian.append(_downsample(gaussian[-1]))
    bands = [g - _upsample(g_next, g.shape) for g, g_next in zip(gaussian[:-1], gaussian[1:], strict=True)]
    return [*bands, gaussian[-1]]


def _patches(level: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """7×7×3 neighbourhoods at the given top-left (y, x) positions, as [N, 7, 7, 3]."""
    offsets = np.arange(SWD_PATCH)
    ys = positions[:, 0, None, None] + offsets[None, :, None]
    xs = positions[:, 1, None, None] + offsets[None, None, :]
    return level[ys, xs]


def _normalise(descriptors: np.ndarray) -> np.ndarray:
    """Per-channel zero mean and unit variance over the whole set, then flattened to [N, 147]."""
    mean = descriptors.mean(axis=(0, 1, 2), keepdims=True)
    std = descriptors.std(axis=(0, 1, 2), keepdims=True)
    return ((descriptors - mean) / np.maximum(std, 1e-8)).reshape(len(descriptors), -1)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, directions: np.ndarray) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance of the projections.

    `a` and `b` hold the same number of descriptors: the 1-D distance is then the mean absolute
    difference of the sorted projections.
    """
    pa = np.sort(a @ directions, axis=0)
    pb = np.sort(b @ directions, axis=0)
    return float(np.mean(np.abs(pa - pb)))


@dataclass(frozen=True)
class SwdResult:
    resolutions: list[int]  # the short side of every level, finest first
    per_level_x1e3: list[float]
    mean_x1e3: float


def swd(outputs: list[np.ndarray], references: list[np.ndarray], patches_per_image: int = 128,
        seed: int = 0) -> SwdResult:
    """SWD between the patch distributions of `outputs` and `references` (pooled over all images).

    The two lists are paired (`references[i]` is the original of `outputs[i]`, repeated for the variants
    of one input), and both images of a pair give patches at the same random positions: the sets then
    have equal sizes, identical sets give exactly 0, and the sampling noise of the positions cancels
    between methods evaluated with the same seed. Descriptors are normalised per set and channel, as in
    the paper; the projections are the same for every level and method (seeded).
    """
    if len(outputs) != len(references) or not outputs:
        raise ValueError(f"need paired, non-empty lists, got {len(outputs)} outputs and {len(references)} references")
    h, w = outputs[0].shape[:2]
    for img in [*outputs, *references]:
        if img.shape[:2] != (h, w) or img.ndim != 3:
            raise ValueError(f"every image must be {h}×{w}×C, got {img.shape}")
    resolutions = swd_resolutions(h, w)
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((SWD_PATCH * SWD_PATCH * outputs[0].shape[2], SWD_DIRECTIONS))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)

    per_level_out: list[list[np.ndarray]] = [[] for _ in resolutions]
    per_level_ref: list[list[np.ndarray]] = [[] for _ in resolutions]
    for out_img, ref_img in zip(outputs, references, strict=True):
        out_pyr = laplacian_pyramid(out_img, len(resolutions))
        ref_pyr = laplacian_pyramid(ref_img, len(resolutions))
        for lvl, (o, r) in enumerate(zip(out_pyr, ref_pyr, strict=True)):
            hi_y, hi_x = o.shape[0] - SWD_PATCH + 1, o.shape[1] - SWD_PATCH + 1
            positions = np.stack([rng.integers(0, hi_y, patches_per_image), rng.integers(0, hi_x, patches_per_image)],
                                 axis=1)
            per_level_out[lvl].append(_patches(o, positions))
            per_level_ref[lvl].append(_patches(r, positions))
    values = []
    for outs, refs in zip(per_level_out, per_level_ref, strict=True):
        a = _normalise(np.concatenate(outs))
        b = _normalise(np.concatenate(refs))
        values.append(sliced_wasserstein(a, b, directions) * 1e3)
    return SwdResult(resolutions, values, float(np.mean(values)))


# ---------------------------------------------------------------------------------------------------
# Colourfulness (Hasler & Süsstrunk 2003)


def colourfulness(image: np.ndarray) -> float:
    """σ_rgyb + 0.3·μ_rgyb with rg = R − G, yb = (R + G)/2 − B (0 for any grey image)."""
    if image.ndim != 3 or image.shape[2] < 3:
        raise ValueError(f"expected an [H, W, 3] image, got {image.shape}")
    rgb = image[..., :3].astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    sigma = np.sqrt(rg.var() + yb.var())
    mu = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(sigma + 0.3 * mu)


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"expected two [H, W, C] images of one shape, got {a.shape} and {b.shape}")
