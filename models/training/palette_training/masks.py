"""Training-time masks for Palette's inpainting and uncropping tasks.

Every function returns a boolean ``[H, W]`` array where True marks a hole: the pixels the model has to
generate. Randomness always comes from an explicit ``np.random.Generator`` so a data-loader worker can
be seeded and a mask can be reproduced from its seed.

Palette (Saharia et al. 2022, §4 and appendix) trains inpainting on a mix of DeepFill v2 free-form
strokes (Yu et al. 2019) and simple rectangular masks covering 10–60 % of the image, evaluates on
centred boxes and free-form masks, and trains uncropping with half of the image masked on one side or as
a frame around the centre.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Literal, get_args

import numpy as np
from PIL import Image, ImageDraw

UncropSide = Literal["left", "right", "top", "bottom", "border"]
UNCROP_SIDES: tuple[UncropSide, ...] = get_args(UncropSide)
InpaintMaskKind = Literal["free_form", "boxes", "centre_box"]
INPAINT_MASK_KINDS: tuple[InpaintMaskKind, ...] = get_args(InpaintMaskKind)

# DeepFill v2's stroke generator constants, given for a 256 px image; widths scale with the short side
# so that a 64 px mask looks like a downscaled 256 px one rather than a few fat blobs.
_REFERENCE_SIZE = 256
_MIN_VERTICES, _MAX_VERTICES = 4, 12
_MEAN_ANGLE = 2 * math.pi / 5
_ANGLE_RANGE = 2 * math.pi / 15
_MIN_BRUSH, _MAX_BRUSH = 12.0, 40.0

# Safety nets. Neither is reached in practice; they turn a pathological argument into an error instead
# of an endless loop.
_MAX_STROKES = 10_000
_MAX_BOX_TRIES = 200
_REJECTIONS_BEFORE_SHRINK = 8
# Box shapes: heights/widths drawn log-uniformly in [1/3, 3] so boxes range from bars to squares.
_MAX_BOX_ASPECT = 3.0
# Trade-off used when rounding a box of a requested area to whole pixels: relative area error plus this
# weight times the |log| aspect-ratio error.
_ASPECT_WEIGHT = 0.25


def mask_coverage(mask: np.ndarray) -> float:
    """Fraction of pixels that are holes."""
    return float(np.count_nonzero(mask)) / mask.size


# --------------------------------------------------------------------------------------------------
# Shared helpers


def _check_size(h: int, w: int) -> None:
    if h < 1 or w < 1:
        raise ValueError(f"mask size must be positive, got {h}x{w}")


def _pixel_bounds(h: int, w: int, min_area: float, max_area: float) -> tuple[int, int]:
    """The hole pixel counts [lo, hi] whose coverage lies inside [min_area, max_area]."""
    _check_size(h, w)
    if not 0.0 < min_area <= max_area <= 1.0:
        raise ValueError(f"need 0 < min_area <= max_area <= 1, got {min_area}, {max_area}")
    n = h * w
    lo = math.ceil(min_area * n - 1e-9)
    hi = math.floor(max_area * n + 1e-9)
    if lo > hi:
        raise ValueError(f"no whole pixel count of a {h}x{w} mask has coverage in [{min_area}, {max_area}]")
    return lo, hi


def _box_dims(h: int, w: int, area_px: float, aspect: float) -> tuple[int, int]:
    """Whole-pixel (height, width) of a box with about `area_px` pixels and height/width ≈ `aspect`."""
    best: tuple[float, int, int] | None = None
    for bh in range(1, h + 1):
        bw = min(max(round(area_px / bh), 1), w)
        cost = abs(bh * bw - area_px) / area_px + _ASPECT_WEIGHT * abs(math.log(bh / bw / aspect))
        if best is None or cost < best[0]:
            best = (cost, bh, bw)
    assert best is not None
    return best[1], best[2]


def _centred_box(h: int, w: int, bh: int, bw: int) -> np.ndarray:
    """True inside a bh×bw box centred in an h×w image (off by at most half a pixel when parity differs)."""
    mask = np.zeros((h, w), dtype=bool)
    top, left = (h - bh) // 2, (w - bw) // 2
    mask[top : top + bh, left : left + bw] = True
    return mask


# --------------------------------------------------------------------------------------------------
# Free-form strokes (DeepFill v2)


Point = tuple[float, float]


def _random_stroke(h: int, w: int, rng: np.random.Generator, shrink: float) -> tuple[list[Point], int]:
    """One DeepFill v2 brush stroke: a random walk of vertices and a brush width.

    The turning angles alternate in sign around a mean of 2π/5, which gives the zig-zag scribbles of
    DeepFill v2 rather than curls that close on themselves. `shrink` (≤ 1) scales width and step length
    down when large strokes keep overshooting the allowed area.
    """
    n_vertices = int(rng.integers(_MIN_VERTICES, _MAX_VERTICES + 1))
    angle_lo = _MEAN_ANGLE - rng.uniform(0, _ANGLE_RANGE)
    angle_hi = _MEAN_ANGLE + rng.uniform(0, _ANGLE_RANGE)
    mean_step = math.hypot(h, w) / 8 * shrink  # DeepFill v2: the "average radius" is the diagonal / 8
    scale = min(h, w) / _REFERENCE_SIZE * shrink
    width = max(1, round(rng.uniform(_MIN_BRUSH, _MAX_BRUSH) * scale))

    angles = rng.uniform(angle_lo, angle_hi, n_vertices)
    angles[::2] = 2 * math.pi - angles[::2]
    # DeepFill v2 flips the finished mask at random; a random heading per stroke gives the same variety
    # and also lets strokes of one mask run in different directions.
    angles += rng.uniform(0, 2 * math.pi)
    steps = np.clip(rng.normal(mean_step, mean_step / 2, n_vertices), 0, 2 * mean_step)
    x, y = rng.uniform(0, w - 1), rng.uniform(0, h - 1)
    vertices = [(x, y)]
    for angle, step in zip(angles.tolist(), steps.tolist(), strict=True):
        x = min(max(x + step * math.cos(angle), 0.0), w - 1.0)
        y = min(max(y + step * math.sin(angle), 0.0), h - 1.0)
        vertices.append((x, y))
    return vertices, width


def _draw_segment(draw: ImageDraw.ImageDraw, p0: Point, p1: Point, width: int) -> None:
    """A thick line with round caps; the caps make the joints between segments round, as in DeepFill v2."""
    draw.line([p0, p1], fill=1, width=width)
    if width > 2:  # a disc of diameter ≤ 2 adds nothing the line itself does not cover
        r = width / 2
        for x, y in (p0, p1):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=1)


def free_form_mask(
    h: int, w: int, rng: np.random.Generator, min_area: float = 0.10, max_area: float = 0.60
) -> np.ndarray:
    """DeepFill v2 free-form brush strokes covering a fraction of the image inside [min_area, max_area].

    DeepFill v2 draws a fixed number of strokes and lets the area fall where it may; Palette instead
    needs every mask inside 10–60 %. So a target coverage is drawn uniformly from the range and strokes
    are painted one segment at a time until the target is reached. A segment that would push the hole
    past `max_area` is dropped and ends its stroke; after repeated drops the brush shrinks, so the loop
    always ends inside the range.
    """
    lo, hi = _pixel_bounds(h, w, min_area, max_area)
    target = min(max(math.ceil(rng.uniform(min_area, max_area) * h * w), lo), hi)
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    accepted = np.zeros((h, w), dtype=np.uint8)  # the canvas as of the last accepted segment
    shrink, rejections = 1.0, 0
    for _ in range(_MAX_STROKES):
        vertices, width = _random_stroke(h, w, rng, shrink)
        for p0, p1 in pairwise(vertices):
            _draw_segment(draw, p0, p1, width)
            painted = np.array(canvas)  # a snapshot, never a view of the canvas
            covered = int(np.count_nonzero(painted))
            if covered > hi:
                # Undo the segment (rare, so restoring beats copying the canvas before every segment).
                canvas = Image.fromarray(accepted)
                draw = ImageDraw.Draw(canvas)
                rejections += 1
                if rejections % _REJECTIONS_BEFORE_SHRINK == 0:
                    shrink /= 2
                break
            accepted = painted
            if covered >= target:
                return painted > 0
    raise RuntimeError(f"free_form_mask did not reach {target} hole pixels in {_MAX_STROKES} strokes")


# --------------------------------------------------------------------------------------------------
# Rectangles


def _random_boxes(h: int, w: int, rng: np.random.Generator, n_boxes: int, target_px: float) -> np.ndarray:
    """Union of `n_boxes` random rectangles whose areas add up to about `target_px`."""
    mask = np.zeros((h, w), dtype=bool)
    # Dirichlet(2) shares: boxes of visibly different sizes, but rarely a negligible sliver.
    shares = rng.dirichlet(np.full(n_boxes, 2.0))
    for share in shares:
        area = max(share * target_px, 1.0)
        aspect = math.exp(rng.uniform(-math.log(_MAX_BOX_ASPECT), math.log(_MAX_BOX_ASPECT)))
        bh = min(max(round(math.sqrt(area * aspect)), 1), h)
        bw = min(max(round(area / bh), 1), w)
        top = int(rng.integers(0, h - bh + 1))
        left = int(rng.integers(0, w - bw + 1))
        mask[top : top + bh, left : left + bw] = True
    return mask


def box_mask(
    h: int, w: int, rng: np.random.Generator, min_area: float = 0.10, max_area: float = 0.60
) -> np.ndarray:
    """1–5 random axis-aligned rectangles whose union covers [min_area, max_area] of the image.

    The box areas add up to a target drawn uniformly from the range; overlaps and clipping at the border
    can push the union outside it, in which case the draw is repeated (rarely more than a few times).
    """
    lo, hi = _pixel_bounds(h, w, min_area, max_area)
    for _ in range(_MAX_BOX_TRIES):
        target_px = rng.uniform(min_area, max_area) * h * w
        mask = _random_boxes(h, w, rng, int(rng.integers(1, 6)), target_px)
        if lo <= np.count_nonzero(mask) <= hi:
            return mask
    # Unreachable for sane ranges; a single box at the middle of the range is always inside it.
    bh, bw = _box_dims(h, w, (lo + hi) / 2, h / w)
    mask = np.zeros((h, w), dtype=bool)
    top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    mask[top : top + bh, left : left + bw] = True
    return mask


def centre_box_mask(h: int, w: int, area: float = 0.25) -> np.ndarray:
    """A centred box covering `area` of the image with the image's aspect ratio (Palette's evaluation
    masks: a quarter of the image by default)."""
    _check_size(h, w)
    if not 0.0 < area <= 1.0:
        raise ValueError(f"area must be in (0, 1], got {area}")
    bh, bw = _box_dims(h, w, area * h * w, h / w)
    return _centred_box(h, w, bh, bw)


# --------------------------------------------------------------------------------------------------
# Uncropping


def uncrop_mask_for(h: int, w: int, side: UncropSide) -> np.ndarray:
    """Half of the image masked: one side ('left', 'right', 'top', 'bottom') or a frame ('border').

    For odd sizes a half is floor(size / 2) rows or columns. The border frame leaves a centred known
    rectangle with the image's aspect ratio and half its area, i.e. each side is 1/√2 of the image's.
    """
    _check_size(h, w)
    mask = np.zeros((h, w), dtype=bool)
    if side == "left":
        mask[:, : w // 2] = True
    elif side == "right":
        mask[:, w - w // 2 :] = True
    elif side == "top":
        mask[: h // 2, :] = True
    elif side == "bottom":
        mask[h - h // 2 :, :] = True
    elif side == "border":
        bh, bw = _box_dims(h, w, h * w / 2, h / w)
        mask = ~_centred_box(h, w, bh, bw)
    else:
        raise ValueError(f"unknown uncrop side {side!r}; expected one of {UNCROP_SIDES}")
    return mask


def sample_uncrop_side(rng: np.random.Generator, border_prob: float = 0.5) -> UncropSide:
    """'border' with probability `border_prob`, otherwise one of the four sides uniformly."""
    if rng.random() < border_prob:
        return "border"
    return UNCROP_SIDES[int(rng.integers(0, 4))]


def uncrop_mask(h: int, w: int, rng: np.random.Generator, border_prob: float = 0.5) -> np.ndarray:
    """Random uncropping mask: 50 % of the image, on one side or as a frame (see `sample_uncrop_side`)."""
    return uncrop_mask_for(h, w, sample_uncrop_side(rng, border_prob))


# --------------------------------------------------------------------------------------------------
# The inpainting training mix


def sample_inpaint_kind(
    rng: np.random.Generator,
    free_form_weight: float = 0.55,
    boxes_weight: float = 0.35,
    centre_box_weight: float = 0.10,
) -> InpaintMaskKind:
    """Which mask family `inpaint_mask` draws; the weights are normalised."""
    weights = np.array([free_form_weight, boxes_weight, centre_box_weight], dtype=np.float64)
    if np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"mask weights must be non-negative with a positive sum, got {weights.tolist()}")
    return INPAINT_MASK_KINDS[int(rng.choice(len(weights), p=weights / weights.sum()))]


def inpaint_mask(
    h: int,
    w: int,
    rng: np.random.Generator,
    free_form_weight: float = 0.55,
    boxes_weight: float = 0.35,
    centre_box_weight: float = 0.10,
    min_area: float = 0.10,
    max_area: float = 0.60,
) -> np.ndarray:
    """The inpainting training mix, every mask covering [min_area, max_area] of the image.

    Palette trains on DeepFill v2 free-form masks and simple box masks. The default split keeps free-form
    strokes the majority (55 %), random 1–5 boxes 35 %, and adds 10 % centred boxes with an area drawn
    uniformly from the range, so the centred evaluation masks are in-distribution.
    """
    lo, hi = _pixel_bounds(h, w, min_area, max_area)
    kind = sample_inpaint_kind(rng, free_form_weight, boxes_weight, centre_box_weight)
    if kind == "free_form":
        return free_form_mask(h, w, rng, min_area, max_area)
    if kind == "boxes":
        return box_mask(h, w, rng, min_area, max_area)
    # Rounding to whole pixels can nudge an area at the edge of the range outside it: redraw then.
    for _ in range(_MAX_BOX_TRIES):
        mask = centre_box_mask(h, w, rng.uniform(min_area, max_area))
        if lo <= np.count_nonzero(mask) <= hi:
            return mask
    return centre_box_mask(h, w, (lo + hi) / 2 / (h * w))
