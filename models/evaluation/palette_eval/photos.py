"""The evaluation photos: every image under a folder, in a fixed order, centre-cropped to a square and
resized to the evaluation size (Palette evaluates square 256×256 images; our models are native at 64),
or (`crop="native"`) cut at the photo's own scale: the S×S centre crop, as a selection in a large photo
is, so fine texture and JPEG blocks are judged at 100 %.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True)
class Photo:
    index: int  # position in the sorted list: masks and seeds are derived from it
    name: str  # "07-kphotoalbum-foo": index and a readable part of the path, safe as a folder name
    source: str  # path relative to the photo folder
    pixels: np.ndarray  # uint8 [S, S, 3]


def list_photos(folder: Path) -> list[Path]:
    """Every image below `folder`, sorted by relative path (the same order on every machine)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no photo folder {folder} (build the photo set, or pass --photos DIR)")
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def centre_square(image: Image.Image, size: int) -> np.ndarray:
    """The largest centred square, resized to size × size (Lanczos), as uint8 RGB."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    fitted = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    return np.asarray(fitted, dtype=np.uint8).copy()


def centre_crop(image: Image.Image, size: int) -> np.ndarray:
    """The size × size centre crop at native scale (no resampling) as uint8 RGB; a photo whose short
    side is under `size` is first enlarged to it (Lanczos), the only resampling this crop does."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    short = min(image.size)
    if short < size:
        scale = size / short
        image = image.resize((max(size, round(image.width * scale)), max(size, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8).copy()


CROPS = ("resize", "native")


def load_photos(folder: Path, size: int, limit: int | None = None, crop: str = "resize") -> list[Photo]:
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    paths = list_photos(folder)[: limit or None]
    if not paths:
        raise FileNotFoundError(f"no images under {folder}")
    photos = []
    for i, path in enumerate(paths):
        rel = path.relative_to(folder).as_posix()
        slug = re.sub(r"[^A-Za-z0-9]+", "-", rel.rsplit(".", 1)[0]).strip("-")[:40]
        with Image.open(path) as img:
            pixels = centre_square(img, size) if crop == "resize" else centre_crop(img, size)
            photos.append(Photo(i, f"{i:02d}-{slug}", rel, pixels))
    return photos


def save_png(pixels: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
