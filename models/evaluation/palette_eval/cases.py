"""The evaluation cases after the paper (§5, appendix): what the product is given for each photo.

    inpaint-free-form   `palette run --task fill`, a DeepFill v2 free-form mask covering 20–30 %
    inpaint-centre-box  `--task fill`, a centred box of a quarter of the area (the image's aspect ratio)
    uncrop-right        `--task uncrop`, the left half, extended by the right half in px
    uncrop-border       `--task uncrop`, the centred half of the area, extended on all four sides in px
    colorize            `--task colorize`, the luminance (Pillow 'L', BT.601) in three channels
    jpeg-q5/q10/q20     `--task restore`, the photo JPEG-compressed by Pillow at Q 5, 10, 20 (4:2:0)

Uncrop extensions are given in pixels, not fractions, so the output canvas is exactly the evaluation
size and the known part sits where `masks.uncrop_mask_for` puts it (no resizing anywhere).
Masks come from the training package's mask code, seeded from (seed, photo index): every run with the
same seed evaluates the same holes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palette_training.corruptions import jpeg_compress, to_luminance_rgb
from palette_training.masks import centre_box_mask, free_form_mask, uncrop_mask_for

from .photos import Photo


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    product_task: str  # the `palette run --task`
    model_task: str  # the task name models are trained on (models/README.md)
    jpeg_quality: int = 0


CASES: tuple[Case, ...] = (
    Case("inpaint-free-form", "Inpainting, free-form mask (20–30 % of the area)", "fill", "inpaint"),
    Case("inpaint-centre-box", "Inpainting, centred box (25 % of the area)", "fill", "inpaint"),
    Case("uncrop-right", "Uncropping, right half (50 %)", "uncrop", "uncrop"),
    Case("uncrop-border", "Uncropping, border on all sides (50 %)", "uncrop", "uncrop"),
    Case("colorize", "Colorization (grayscale input)", "colorize", "colorize"),
    Case("jpeg-q5", "JPEG restoration, quality 5", "restore", "jpeg", 5),
    Case("jpeg-q10", "JPEG restoration, quality 10", "restore", "jpeg", 10),
    Case("jpeg-q20", "JPEG restoration, quality 20", "restore", "jpeg", 20),
)
CASE_NAMES = tuple(c.name for c in CASES)
FREE_FORM_AREA = (0.20, 0.30)
CENTRE_BOX_AREA = 0.25
HOLE_GREY = 127  # how holes are drawn in the grids


@dataclass(frozen=True)
class Prepared:
    """One photo made into one case's input."""

    case: Case
    photo: Photo
    original: np.ndarray  # uint8 [S, S, 3], what every output is compared with
    product_image: np.ndarray  # the image `palette run` gets (smaller than S×S for uncrop)
    hole: np.ndarray | None  # bool [S, S]: pixels to generate (fill, uncrop); None for the others
    extend: dict[str, int] | None  # uncrop: px added on each side
    shown: np.ndarray  # uint8 [S, S, 3]: the input as the grids show it (holes grey)


def case_by_name(name: str) -> Case:
    for case in CASES:
        if case.name == name:
            return case
    raise ValueError(f"unknown case {name!r}; expected one of {', '.join(CASE_NAMES)}")


def mask_rng(seed: int, photo_index: int, case: Case) -> np.random.Generator:
    """The mask randomness of one photo: fixed by the run's seed and the photo's index."""
    return np.random.default_rng([seed, photo_index, CASE_NAMES.index(case.name)])


def with_grey_hole(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    shown = image.copy()
    shown[hole] = HOLE_GREY
    return shown


def known_box(hole: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the known rectangle of an uncrop mask (exclusive ends)."""
    rows = np.flatnonzero((~hole).any(axis=1))
    cols = np.flatnonzero((~hole).any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if hole[top:bottom, left:right].any():
        raise ValueError("the known part of an uncrop mask must be one rectangle")
    return top, left, bottom, right


def prepare(case: Case, photo: Photo, seed: int) -> Prepared:
    original = photo.pixels
    s = original.shape[0]
    if case.name == "inpaint-free-form":
        hole = free_form_mask(s, s, mask_rng(seed, photo.index, case), *FREE_FORM_AREA)
        return Prepared(case, photo, original, original, hole, None, with_grey_hole(original, hole))
    if case.name == "inpaint-centre-box":
        hole = centre_box_mask(s, s, CENTRE_BOX_AREA)
        return Prepared(case, photo, original, original, hole, None, with_grey_hole(original, hole))
    if case.product_task == "uncrop":
        hole = uncrop_mask_for(s, s, "right" if case.name == "uncrop-right" else "border")
        top, left, bottom, right = known_box(hole)
        extend = {"left": left, "right": s - right, "top": top, "bottom": s - bottom}
        known = original[top:bottom, left:right].copy()
        return Prepared(case, photo, original, known, hole, extend, with_grey_hole(original, hole))
    if case.name == "colorize":
        grey = to_luminance_rgb(original)
        return Prepared(case, photo, original, grey, None, None, grey)
    if case.model_task == "jpeg":
        # Pillow decodes the JPEG here and the product gets that decoding as a PNG: the model, the
        # "input JPEG" baseline and the training corruption all see the very same pixels.
        compressed = jpeg_compress(original, case.jpeg_quality)
        return Prepared(case, photo, original, compressed, None, None, compressed)
    raise ValueError(f"no preparation for case {case.name}")


def extend_argument(extend: dict[str, int]) -> str:
    """`--extend` in pixels (no decimal point, so the product reads them as px)."""
    return ",".join(f"{side}={px}" for side, px in extend.items() if px > 0)
