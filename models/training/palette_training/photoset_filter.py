"""Decide whether a decoded image is a usable photograph, and find duplicates.

The photo test is a few cheap, explainable heuristics, not a learned
classifier (thresholds were tuned by looking at contact sheets of what each
rule kept and dropped across all source packages):

* small: short side below 128 px (icons, thumbnails);
* transparent: more than 1% of pixels see-through (cut-outs, sprites);
* cartoon: drawings, icons, screenshots and masks are made of flat fills.
  On a 128x128 area-averaged copy, photographic noise and texture leave
  almost no pixel *exactly* equal to its neighbours, while painted fills
  stay exactly uniform.  Flat areas clipped to black/white are counted apart
  because photos have some (night, blown highlights, studio backgrounds).
  Smooth computer-rendered gradients are caught at full resolution, where
  they are exactly planar almost everywhere.

What passes all of them and is still not a photo (paintings, rendered
wallpapers, test patterns) is listed by hand in
:mod:`palette_training.photoset_packages`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Below 128 px a picture is an icon or thumbnail.  Photos between 128 and 255 px
# (many GCompris and dlib images) are kept; the manifest records sizes so that
# training can require 256 px crops, and the summary counts them.
MIN_SHORT_SIDE = 128
PREFERRED_SHORT_SIDE = 256
STATS_SIZE = 128  # the downscaled square on which colour statistics are computed
ALPHA_OPAQUE = 250  # alpha at or above this counts as opaque
MAX_TRANSPARENT_FRACTION = 0.01  # more see-through pixels than this: a cut-out

# Cartoon thresholds, tuned by looking at contact sheets of kept/dropped images.
CLIP_DARK, CLIP_BRIGHT = 8, 247  # channel values treated as clipped black / white
MAX_FLAT_FRACTION = 0.25
MAX_ANY_FLAT_FRACTION = 0.3  # flat mid-tones plus flat clipped areas
SMOOTH_CROP = 512  # side of the native-resolution centre crop for smooth_fraction
MAX_SMOOTH_FRACTION = 0.7

# Of 64 DCT-hash bits; unrelated photos differ in ~32.  Rescaled copies and
# preview thumbnails measured 0-4, consecutive video / calibration frames 4-8,
# different photos of one aligned face 8-12.
DUPLICATE_HAMMING = 6


@dataclass(frozen=True)
class Stats:
    flat_fraction: float  # flat pixels in mid-tones: flat fills of drawings and UIs
    clipped_flat_fraction: float  # flat pure black/white: masks, silhouettes, empty canvas
    smooth_fraction: float  # exactly planar at full resolution: rendered gradients


@dataclass(frozen=True)
class Verdict:
    reason: str  # "ok" or the drop reason: small | transparent | cartoon
    stats: Stats | None = None


def transparent_fraction(img: Image.Image) -> float:
    """Share of pixels that are visibly see-through (0 for images without alpha)."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if "A" not in img.getbands():
        return 0.0
    alpha = np.asarray(img.getchannel("A"))
    return float((alpha < ALPHA_OPAQUE).mean())


def to_rgb(img: Image.Image) -> Image.Image:
    """Opaque RGB view of an image (alpha dropped; callers reject real cut-outs first)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("P", "PA", "LA", "RGBA", "La", "RGBa"):
        img = img.convert("RGBA")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale PNGs
        img = Image.fromarray((np.asarray(img, dtype=np.float64) / 257).clip(0, 255).astype(np.uint8))
    return img.convert("RGB")


def colour_stats(rgb: Image.Image) -> Stats:
    """Flat-fill statistics of a fixed-size, area-averaged copy of ``rgb``.

    A pixel is *flat* when it is identical (all channels) to its right and
    lower neighbours.  Area averaging turns photographic noise and texture
    into small differences but keeps painted fills exactly uniform.  Flat
    areas that are clipped to black or white are counted apart, because
    photographs do have those (night skies, blown highlights, dark rooms).
    """
    small = np.asarray(rgb.resize((STATS_SIZE, STATS_SIZE), Image.Resampling.BOX), dtype=np.int16)
    here = small[:-1, :-1]
    flat = (small[:-1, 1:] == here).all(axis=-1) & (small[1:, :-1] == here).all(axis=-1)
    clipped = (here <= CLIP_DARK).all(axis=-1) | (here >= CLIP_BRIGHT).all(axis=-1)
    return Stats(
        flat_fraction=float((flat & ~clipped).mean()),
        clipped_flat_fraction=float((flat & clipped).mean()),
        smooth_fraction=smooth_fraction(rgb),
    )


def smooth_fraction(rgb: Image.Image) -> float:
    """Share of pixels where the full-resolution image is locally exactly planar.

    Measured on a native-resolution centre crop (downscaling would average
    the sensor noise away): a zero Laplacian means the pixel is exactly the
    mean of its four neighbours, which smooth computer-rendered gradients do
    everywhere and photographs only in clipped or very out-of-focus areas.
    """
    w, h = rgb.size
    side = min(w, h, SMOOTH_CROP)
    left, top = (w - side) // 2, (h - side) // 2
    grey = np.asarray(rgb.crop((left, top, left + side, top + side)).convert("L"), dtype=np.int32)
    lap = 4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    return float((lap == 0).mean())


def looks_like_cartoon(stats: Stats) -> bool:
    return (
        stats.flat_fraction > MAX_FLAT_FRACTION
        or stats.flat_fraction + stats.clipped_flat_fraction > MAX_ANY_FLAT_FRACTION
        or stats.smooth_fraction > MAX_SMOOTH_FRACTION
    )


def classify(img: Image.Image, min_short_side: int = MIN_SHORT_SIDE) -> Verdict:
    """Run the photo heuristics in the order that makes each drop reason unambiguous."""
    if min(img.size) < min_short_side:
        return Verdict("small")
    if transparent_fraction(img) > MAX_TRANSPARENT_FRACTION:
        return Verdict("transparent")
    stats = colour_stats(to_rgb(img))
    return Verdict("cartoon" if looks_like_cartoon(stats) else "ok", stats)


# --- duplicates


def pixel_sha256(rgb: Image.Image) -> str:
    """Hash of size and decoded pixels: equal for identical images in different containers."""
    digest = hashlib.sha256(f"{rgb.size[0]}x{rgb.size[1]}".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    return np.cos(np.pi * (2 * x + 1) * k / (2 * n))


_DCT32 = _dct_matrix(32)


def dct_hash(rgb: Image.Image) -> int:
    """64-bit perceptual hash: signs of the 8x8 lowest DCT frequencies vs their median.

    Insensitive to rescaling and recompression, which is exactly how wallpaper
    packages ship one photo several times.
    """
    grey = np.asarray(rgb.convert("L").resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    low = (_DCT32 @ grey @ _DCT32.T)[:8, :8].ravel()
    bits = low > np.median(low[1:])  # the DC term would dominate the median
    return int("".join("1" if b else "0" for b in bits), 2)


def centre_square(rgb: Image.Image) -> Image.Image:
    """Central square crop.

    Wallpaper variants for 16:9, 16:10 and 4:3 screens are usually cut from one
    photo by trimming the sides; those share this square.  (Variants that trim
    top and bottom instead do not, and are only caught if the whole-frame hash
    is close enough.)
    """
    w, h = rgb.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return rgb.crop((left, top, left + side, top + side))


def perceptual_hashes(rgb: Image.Image) -> tuple[int, int]:
    """Hashes of the whole frame and of its centre square (catches re-cropped variants)."""
    return dct_hash(rgb), dct_hash(centre_square(rgb))


def duplicate_groups(hashes: list[tuple[int, int]], max_distance: int = DUPLICATE_HAMMING) -> list[int]:
    """Union-find over images whose whole-frame or centre hashes are within ``max_distance``.

    Returns a group id per image (the index of the group's first member).
    Quadratic, but fine for a few thousand images.
    """
    parent = list(range(len(hashes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (whole_i, centre_i) in enumerate(hashes):
        for j in range(i):
            whole_j, centre_j = hashes[j]
            close = (whole_i ^ whole_j).bit_count() <= max_distance or (centre_i ^ centre_j).bit_count() <= max_distance
            if close:
                parent[find(i)] = find(j)
    return [find(i) for i in range(len(hashes))]
