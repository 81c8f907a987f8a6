"""Tests for the Palette training corruptions (JPEG, colorization source, noise fill, value ranges)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from palette_training.corruptions import (
    fill_hole_with_noise,
    from_model_range,
    jpeg_compress,
    jpeg_quality_probabilities,
    sample_jpeg_quality,
    to_luminance_rgb,
    to_model_range,
)
from palette_training.masks import centre_box_mask


def _textured_image(h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients, fine stripes and noise: content that JPEG visibly degrades."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 11.0)
    g = 255 * x / w
    b = 128 + 90 * np.sin((x + y) / 2.5)
    image = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (h, w, 3))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


# --------------------------------------------------------------------------------------------------
# JPEG quality sampling


def test_quality_probabilities_decay_as_exp_minus_q_over_10() -> None:
    qualities, probs = jpeg_quality_probabilities()
    assert qualities.tolist() == list(range(5, 31))
    assert probs.sum() == pytest.approx(1.0)
    assert np.allclose(probs[1:] / probs[:-1], np.exp(-0.1))


def test_sampled_qualities_follow_the_distribution() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    draws = np.array([sample_jpeg_quality(rng) for _ in range(n)])
    assert draws.min() >= 5 and draws.max() <= 30
    assert isinstance(sample_jpeg_quality(rng), int)

    qualities = np.arange(5, 31)
    expected = n * np.exp(-qualities / 10) / np.exp(-qualities / 10).sum()
    observed = np.array([np.count_nonzero(draws == q) for q in qualities])
    chi_square = float(np.sum((observed - expected) ** 2 / expected))
    assert chi_square < 52.6  # the 0.1 % critical value for 25 degrees of freedom

    # P(5) / P(30) = e^2.5 ≈ 12.2; the count at Q=30 is ~170, so allow its sampling noise.
    ratio = observed[0] / observed[-1]
    assert 9.0 < ratio < 16.0
    assert abs(draws.mean() - float(np.sum(qualities * expected) / n)) < 0.15


def test_quality_range_is_configurable_and_validated() -> None:
    rng = np.random.default_rng(1)
    draws = {sample_jpeg_quality(rng, 40, 42) for _ in range(200)}
    assert draws == {40, 41, 42}
    with pytest.raises(ValueError):
        sample_jpeg_quality(rng, 30, 5)


# --------------------------------------------------------------------------------------------------
# JPEG compression


def test_jpeg_lower_quality_means_lower_psnr() -> None:
    image = _textured_image()
    low, high = jpeg_compress(image, 5), jpeg_compress(image, 30)
    for out in (low, high):
        assert out.dtype == np.uint8 and out.shape == image.shape
    assert _psnr(image, low) + 3.0 < _psnr(image, high)
    assert _psnr(image, high) < 45  # lossy: the source really is degraded


def test_jpeg_is_deterministic_and_leaves_its_input_alone() -> None:
    image = _textured_image(50, 70)  # not a multiple of the 16 px MCU
    before = image.copy()
    a, b = jpeg_compress(image, 12), jpeg_compress(image, 12)
    assert np.array_equal(a, b)
    assert a.shape == (50, 70, 3)
    assert np.array_equal(image, before)


@pytest.mark.parametrize("axis", [0, 1], ids=["row_stripes", "column_stripes"])
def test_jpeg_subsamples_chroma_in_both_directions(axis: int) -> None:
    # One-pixel red/green stripes. 4:2:0 averages chroma over 2×2 blocks, so even at the highest quality
    # the stripes come back with nearly the same hue; 4:4:4 keeps them, and 4:2:2 keeps row stripes.
    stripes = (np.indices((64, 64))[axis] % 2).astype(bool)
    image = np.where(stripes[..., None], np.array([200, 60, 60]), np.array([60, 140, 60])).astype(np.uint8)
    out = jpeg_compress(image, 95).astype(np.int32)
    red_minus_green = out[..., 0] - out[..., 1]
    contrast = np.abs(red_minus_green[stripes].mean() - red_minus_green[~stripes].mean())
    assert contrast < 0.25 * (140 - (-80))


def test_jpeg_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        jpeg_compress(np.zeros((8, 8), dtype=np.uint8), 10)
    with pytest.raises(ValueError):
        jpeg_compress(np.zeros((8, 8, 3), dtype=np.float32), 10)
    with pytest.raises(ValueError):
        jpeg_compress(np.zeros((8, 8, 3), dtype=np.uint8), 0)


# --------------------------------------------------------------------------------------------------
# Colorization source


def test_luminance_has_three_identical_channels_matching_pillow() -> None:
    image = _textured_image()
    grey = to_luminance_rgb(image)
    assert grey.dtype == np.uint8 and grey.shape == image.shape
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 0], grey[..., 2])
    assert np.array_equal(grey[..., 0], np.asarray(Image.fromarray(image).convert("L")))
    bt601 = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(grey[..., 0].astype(np.float64) - bt601).max() <= 1.0


def test_luminance_of_grey_is_unchanged() -> None:
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    grey = np.repeat(values[..., None], 3, axis=2)
    assert np.array_equal(to_luminance_rgb(grey), grey)


# --------------------------------------------------------------------------------------------------
# Noise fill


def test_noise_fill_touches_only_the_hole_and_is_standard_normal() -> None:
    x = to_model_range(_textured_image(128, 128))
    mask = centre_box_mask(128, 128, 0.25)
    before = x.copy()
    out = fill_hole_with_noise(x, mask, np.random.default_rng(2))
    assert out.dtype == np.float32 and out.shape == x.shape
    assert np.array_equal(x, before)  # the input is not modified
    assert np.array_equal(out[:, ~mask], x[:, ~mask])

    noise = out[:, mask]  # 3 × 4096 samples
    assert abs(float(noise.mean())) < 0.05
    assert abs(float(noise.std()) - 1.0) < 0.05
    assert np.abs(noise).max() > 2.5  # Gaussian tails, not a clipped or uniform fill
    assert abs(np.corrcoef(noise[0], noise[1])[0, 1]) < 0.1  # independent per channel


def test_noise_fill_is_seeded_and_checks_shapes() -> None:
    x = np.zeros((3, 32, 48), dtype=np.float32)
    mask = centre_box_mask(32, 48)
    a = fill_hole_with_noise(x, mask, np.random.default_rng(3))
    b = fill_hole_with_noise(x, mask, np.random.default_rng(3))
    assert np.array_equal(a, b)
    with pytest.raises(ValueError):
        fill_hole_with_noise(x, mask.T, np.random.default_rng(3))


# --------------------------------------------------------------------------------------------------
# Model range


def test_model_range_round_trip_is_exact_for_every_uint8_value() -> None:
    values = np.arange(256, dtype=np.uint8)
    image = np.stack([values, values[::-1], np.roll(values, 77)], axis=-1).reshape(16, 16, 3)
    x = to_model_range(image)
    assert x.dtype == np.float32 and x.shape == (3, 16, 16)
    assert x.min() == -1.0 and x.max() == 1.0
    assert np.array_equal(x[1], image[..., 1].astype(np.float32) / 127.5 - 1)  # channels first
    back = from_model_range(x)
    assert back.dtype == np.uint8 and back.shape == image.shape
    assert np.array_equal(back, image)


def test_from_model_range_clips_and_rounds() -> None:
    values = [-3.0, -1.0, 0.999, 1.0, 7.0, 0.6 / 127.5 - 1.0]  # 0.6 above the bottom rounds up to 1
    x = np.array(values, dtype=np.float32).reshape(1, 2, 3).transpose(2, 0, 1)  # HWC → CHW
    assert from_model_range(x).reshape(-1).tolist() == [0, 0, 255, 255, 255, 1]
