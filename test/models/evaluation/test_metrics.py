"""The metrics against values known in closed form or by construction."""

import math

import numpy as np
import pytest
from palette_eval import metrics
from scipy import ndimage


def constant(value: float, size: int = 64) -> np.ndarray:
    return np.full((size, size, 3), value, dtype=np.float64)


def texture(seed: int, size: int = 64) -> np.ndarray:
    """A smooth random colour texture (blurred noise, contrast stretched) on 0..255."""
    noise = np.random.default_rng(seed).uniform(0, 255, (size, size, 3))
    return np.clip((ndimage.gaussian_filter(noise, sigma=(1.5, 1.5, 0)) - 127.5) * 3 + 127.5, 0, 255)


def test_psnr_identical_is_infinite_and_a_known_error_gives_its_value() -> None:
    image = constant(128)
    assert metrics.psnr(image, image) == math.inf
    # A ±5 checkerboard: MSE is exactly 25.
    checker = np.indices((64, 64)).sum(axis=0) % 2 * 10 - 5
    assert metrics.psnr(image + checker[..., None], image) == pytest.approx(10 * math.log10(255**2 / 25), abs=1e-9)
    # Gaussian noise of σ = 10: MSE ≈ 100, PSNR ≈ 28.13 dB.
    noisy = constant(128, 256) + np.random.default_rng(0).normal(0, 10, (256, 256, 3))
    assert metrics.psnr(noisy, constant(128, 256)) == pytest.approx(10 * math.log10(255**2 / 100), abs=0.05)


def test_ssim_identical_constants_and_noise() -> None:
    image = texture(0)
    assert metrics.ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    # Constant images: no variance, so SSIM is the luminance term (2ab + C1)/(a² + b² + C1).
    c1 = (0.01 * 255) ** 2
    assert metrics.ssim(constant(100), constant(150)) == pytest.approx((2 * 100 * 150 + c1) / (100**2 + 150**2 + c1))
    rng = np.random.default_rng(1)
    values = [metrics.ssim(image + rng.normal(0, s, image.shape), image) for s in (2, 8, 32)]
    assert 1 > values[0] > values[1] > values[2] > 0
    noisy = image + rng.normal(0, 8, image.shape)
    assert metrics.ssim(noisy, image) == pytest.approx(metrics.ssim(image, noisy), abs=1e-12)


def test_ms_ssim_scales_weights_and_known_values() -> None:
    assert [metrics.ms_ssim_scales(s, s) for s in (256, 176, 175, 64, 32, 11)] == [5, 5, 4, 3, 2, 1]
    with pytest.raises(ValueError):
        metrics.ms_ssim_scales(10, 64)
    image = texture(2)
    assert metrics.ms_ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    # Constant images: every contrast-structure term is 1, the luminance term counts at the coarsest scale
    # with its renormalised weight (3 scales at 64 px).
    c1 = (0.01 * 255) ** 2
    luminance = (2 * 100 * 150 + c1) / (100**2 + 150**2 + c1)
    weight = metrics.MS_SSIM_WEIGHTS[2] / sum(metrics.MS_SSIM_WEIGHTS[:3])
    assert metrics.ms_ssim(constant(100), constant(150)) == pytest.approx(luminance**weight)
    rng = np.random.default_rng(3)
    light, heavy = (metrics.ms_ssim(image + rng.normal(0, s, image.shape), image) for s in (4, 32))
    assert 1 > light > heavy > 0


def test_diversity_of_identical_variants_is_one_and_of_unrelated_images_low() -> None:
    image = texture(4)
    assert metrics.mean_pairwise_ms_ssim([image, image, image]) == pytest.approx(1.0)
    assert metrics.mean_pairwise_ms_ssim([texture(5), texture(6), texture(7)]) < 0.3


def test_laplacian_pyramid_of_a_constant_has_empty_bands() -> None:
    levels = metrics.laplacian_pyramid(constant(77), 3)
    assert [lvl.shape[0] for lvl in levels] == [64, 32, 16]
    for band in levels[:-1]:
        assert np.abs(band).max() < 1e-9
    assert levels[-1] == pytest.approx(np.full((16, 16, 3), 77.0))


def test_swd_is_zero_for_identical_sets_and_grows_with_blur() -> None:
    originals = [texture(10 + i) for i in range(6)]
    same = metrics.swd(originals, originals, patches_per_image=64)
    assert same.resolutions == [64, 32, 16]
    assert same.mean_x1e3 == 0.0
    blurred = [
        metrics.swd([ndimage.gaussian_filter(o, sigma=(s, s, 0)) for o in originals], originals, patches_per_image=64)
        for s in (0.7, 1.5, 3.0)
    ]
    means = [b.mean_x1e3 for b in blurred]
    assert 0 < means[0] < means[1] < means[2]
    assert blurred[2].per_level_x1e3[0] > blurred[0].per_level_x1e3[0]  # the finest band loses detail first


def test_colourfulness() -> None:
    grey = np.repeat(np.random.default_rng(0).integers(0, 256, (32, 32, 1)), 3, axis=2).astype(np.uint8)
    assert metrics.colourfulness(grey) == 0.0
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    assert metrics.colourfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))
    assert metrics.colourfulness(texture(8)) > 0
