"""The evaluation photos: the paper's resized centre squares, and native-scale crops (issue 11: 512 px
judged as a selection in a large photo is, not as a thumbnail)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from palette_eval.photos import centre_crop, centre_square, load_photos
from PIL import Image


def gradient(width: int, height: int) -> Image.Image:
    x = np.arange(width, dtype=np.uint16)[None, :].repeat(height, 0)
    y = np.arange(height, dtype=np.uint16)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8))


def test_native_crop_keeps_the_pixels_of_the_centre_unresampled() -> None:
    image = gradient(1200, 800)
    crop = centre_crop(image, 512)
    assert crop.shape == (512, 512, 3)
    expected = np.asarray(image)[144:656, 344:856]
    assert np.array_equal(crop, expected)
    # The resized square of the same photo is a thumbnail: its pixels are not the photo's.
    assert not np.array_equal(centre_square(image, 512), expected)


def test_native_crop_enlarges_only_a_photo_smaller_than_the_crop() -> None:
    crop = centre_crop(gradient(300, 200), 256)
    assert crop.shape == (256, 256, 3)


def test_load_photos_native_and_resize(tmp_path: Path) -> None:
    for i in range(2):
        gradient(900 + 10 * i, 700).save(tmp_path / f"p{i}.png")
    native = load_photos(tmp_path, 512, crop="native")
    resized = load_photos(tmp_path, 512)
    assert [p.pixels.shape for p in native] == [(512, 512, 3)] * 2
    assert not np.array_equal(native[0].pixels, resized[0].pixels)
    with pytest.raises(ValueError, match="crop"):
        load_photos(tmp_path, 64, crop="thumbnail")
