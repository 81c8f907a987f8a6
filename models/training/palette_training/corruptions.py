"""Training-time corruptions for Palette's colorization and JPEG-restoration tasks, and the conversions
between uint8 images and the model's [-1, 1] range.

Images here are uint8 RGB ``[H, W, 3]`` (as decoded by Pillow) unless the name says otherwise; model-side
arrays are float32 channels-first ``[3, H, W]`` in [-1, 1].
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# Pillow's `subsampling` codes: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0.
_SUBSAMPLING_420 = 2
# The paper samples the JPEG quality with probability ∝ exp(-Q / 10): low qualities dominate.
_JPEG_QUALITY_DECAY = 10.0


def _check_rgb_u8(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 [H, W, 3] image, got {image.dtype} {image.shape}")


def jpeg_quality_probabilities(q_min: int = 5, q_max: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """The qualities q_min..q_max and their probabilities ∝ exp(-Q / 10) (Palette, JPEG restoration)."""
    if not 1 <= q_min <= q_max <= 100:
        raise ValueError(f"need 1 <= q_min <= q_max <= 100, got {q_min}, {q_max}")
    qualities = np.arange(q_min, q_max + 1)
    weights = np.exp(-qualities / _JPEG_QUALITY_DECAY)
    return qualities, weights / weights.sum()


def sample_jpeg_quality(rng: np.random.Generator, q_min: int = 5, q_max: int = 30) -> int:
    """An integer JPEG quality in [q_min, q_max] with P(Q) ∝ exp(-Q / 10)."""
    qualities, probs = jpeg_quality_probabilities(q_min, q_max)
    return int(rng.choice(qualities, p=probs))


def jpeg_compress(image_u8: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at `quality` with Pillow and decode back: the JPEG-restoration source image.

    Chroma is subsampled 4:2:0, as most cameras and editors save JPEGs, so the model also learns to undo
    colour bleeding, not only blocking. Pillow's encoder is deterministic, so is this function.
    """
    _check_rgb_u8(image_u8)
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100], got {quality}")
    buffer = io.BytesIO()
    Image.fromarray(image_u8).save(
        buffer, format="JPEG", quality=int(quality), subsampling=_SUBSAMPLING_420
    )
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.array(decoded.convert("RGB"), dtype=np.uint8)


def to_luminance_rgb(image_u8: np.ndarray) -> np.ndarray:
    """The colorization source: luminance Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, Pillow's 'L'
    conversion) repeated in three channels, so every task feeds the network a 3-channel image."""
    _check_rgb_u8(image_u8)
    luma = np.asarray(Image.fromarray(image_u8).convert("L"))
    return np.repeat(luma[:, :, None], 3, axis=2)


def fill_hole_with_noise(x_float: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace the hole pixels of a [C, H, W] image with N(0, 1) noise.

    Palette conditions inpainting and uncropping on the masked image alone, with no extra mask channel:
    the hole is filled with Gaussian noise, which the network learns to tell apart from image content.
    """
    if x_float.ndim != 3 or mask.shape != x_float.shape[1:]:
        raise ValueError(f"expected a [C, H, W] image and an [H, W] mask, got {x_float.shape}, {mask.shape}")
    hole = mask.astype(bool)
    out = np.array(x_float, dtype=np.float32, copy=True)
    out[:, hole] = rng.standard_normal((out.shape[0], int(np.count_nonzero(hole))), dtype=np.float32)
    return out


def to_model_range(image_u8: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] → float32 [3, H, W] in [-1, 1] (0 ↦ -1, 255 ↦ 1)."""
    _check_rgb_u8(image_u8)
    return np.ascontiguousarray(image_u8.transpose(2, 0, 1), dtype=np.float32) / 127.5 - 1.0


def from_model_range(x_float: np.ndarray) -> np.ndarray:
    """float [3, H, W] in [-1, 1] → uint8 [H, W, 3]; values outside the range are clipped, then rounded."""
    if x_float.ndim != 3 or x_float.shape[0] != 3:
        raise ValueError(f"expected a [3, H, W] array, got {x_float.shape}")
    scaled = (np.clip(x_float.astype(np.float32), -1.0, 1.0) + 1.0) * 127.5
    return np.ascontiguousarray(np.rint(scaled).astype(np.uint8).transpose(1, 2, 0))
