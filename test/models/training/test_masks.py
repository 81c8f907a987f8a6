"""Tests for the Palette training masks (inpainting and uncropping)."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from itertools import pairwise

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from palette_training import masks as masks_module
from palette_training.masks import (
    INPAINT_MASK_KINDS,
    UNCROP_SIDES,
    _box_dims,
    _random_stroke,
    box_mask,
    centre_box_mask,
    free_form_mask,
    inpaint_mask,
    mask_coverage,
    sample_inpaint_kind,
    sample_uncrop_side,
    uncrop_mask,
    uncrop_mask_for,
)

SIZES = [(64, 64), (128, 128), (64, 96)]
ODD_SIZES = [(16, 16), (17, 31), (65, 97)]


# --------------------------------------------------------------------------------------------------
# Helpers


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the True pixels, bottom/right exclusive."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _bbox_fill(mask: np.ndarray) -> float:
    top, bottom, left, right = _bbox(mask)
    return float(mask[top:bottom, left:right].mean())


def _is_rectangle(mask: np.ndarray) -> bool:
    return bool(mask.any()) and _bbox_fill(mask) == 1.0


def _is_centred(mask: np.ndarray) -> bool:
    """The True pixels' bounding box is centred to within one pixel."""
    h, w = mask.shape
    top, bottom, left, right = _bbox(mask)
    return abs(top - (h - bottom)) <= 1 and abs(left - (w - right)) <= 1


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary erosion by a (2 radius + 1)² square; outside the image counts as hole."""
    size = 2 * radius + 1
    padded = np.pad(mask, radius, constant_values=True)
    rows = sliding_window_view(padded, size, axis=0).all(axis=-1)
    return sliding_window_view(rows, size, axis=1).all(axis=-1)


def _count_components(mask: np.ndarray) -> int:
    """4-connected components, by flood fill (small masks only)."""
    seen = np.zeros_like(mask)
    h, w = mask.shape
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        count += 1
        stack = [start]
        seen[start] = True
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
    return count


def _coverages(fn, h: int, w: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        mask = fn(h, w, rng)
        assert mask.dtype == np.bool_ and mask.shape == (h, w)
        out.append(mask_coverage(mask))
    return np.array(out)


# --------------------------------------------------------------------------------------------------
# Coverage of the random inpainting masks


@pytest.mark.parametrize("fn", [free_form_mask, box_mask], ids=["free_form", "boxes"])
def test_coverage_always_in_range_over_1000_draws(fn) -> None:
    cov = _coverages(fn, 64, 64, 1000, seed=1)
    assert cov.min() >= 0.10 and cov.max() <= 0.60
    # Not degenerate: small and large holes both occur often.
    assert np.mean(cov < 0.25) > 0.15
    assert np.mean(cov > 0.40) > 0.15


@pytest.mark.parametrize("fn", [free_form_mask, box_mask], ids=["free_form", "boxes"])
@pytest.mark.parametrize("size", SIZES[1:] + ODD_SIZES)
def test_coverage_in_range_at_other_sizes(fn, size: tuple[int, int]) -> None:
    cov = _coverages(fn, *size, n=100, seed=2)
    assert cov.min() >= 0.10 and cov.max() <= 0.60
    assert cov.min() < 0.25 and cov.max() > 0.40


@pytest.mark.parametrize("fn", [free_form_mask, box_mask], ids=["free_form", "boxes"])
def test_custom_narrow_range_is_respected(fn) -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        assert 0.30 <= mask_coverage(fn(64, 64, rng, min_area=0.30, max_area=0.31)) <= 0.31


@pytest.mark.parametrize("fn", [free_form_mask, box_mask])
def test_invalid_area_range_raises(fn) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        fn(64, 64, rng, min_area=0.5, max_area=0.4)
    with pytest.raises(ValueError):
        fn(64, 64, rng, min_area=0.0, max_area=0.4)


@pytest.mark.parametrize("fn", [free_form_mask, box_mask, uncrop_mask, inpaint_mask])
def test_same_seed_same_mask(fn) -> None:
    a = [fn(64, 96, np.random.default_rng(7)) for _ in range(2)]
    assert np.array_equal(a[0], a[1])
    assert not all(np.array_equal(fn(64, 96, np.random.default_rng(s)), a[0]) for s in (8, 9, 10))


# --------------------------------------------------------------------------------------------------
# Shapes of the free-form and box masks


def test_free_form_masks_are_not_rectangles() -> None:
    rng = np.random.default_rng(4)
    fills = np.array([_bbox_fill(free_form_mask(64, 64, rng)) for _ in range(200)])
    assert fills.max() < 0.97
    assert fills.mean() < 0.75


def test_free_form_masks_are_thin_strokes_not_blobs() -> None:
    # The widest brush at 128 px is 40 / 256 * 128 = 20 px, so eroding by a 23 px square wipes out a
    # stroke except where strokes cross; solid boxes of the same coverage keep much of their area.
    rng = np.random.default_rng(5)
    survival = []
    for _ in range(150):
        stroke, boxes = free_form_mask(128, 128, rng), box_mask(128, 128, rng)
        survival.append([np.count_nonzero(_erode(m, 11)) / np.count_nonzero(m) for m in (stroke, boxes)])
    stroke_survival, box_survival = np.array(survival).mean(axis=0)
    assert stroke_survival < 0.15
    assert stroke_survival < 0.5 * box_survival


def test_small_free_form_masks_are_a_few_strokes() -> None:
    rng = np.random.default_rng(6)
    for _ in range(30):
        mask = free_form_mask(64, 64, rng, min_area=0.10, max_area=0.12)
        # A handful of strokes, each one connected piece (its segments share round joints).
        assert 1 <= _count_components(mask) <= 6


def test_box_masks_are_one_to_five_rectangles() -> None:
    rng = np.random.default_rng(7)
    counts = Counter()
    rectangles = 0
    for _ in range(300):
        mask = box_mask(64, 64, rng)
        n = _count_components(mask)
        assert 1 <= n <= 5
        counts[n] += 1
        rectangles += _is_rectangle(mask)
    assert counts[1] > 0 and sum(counts[k] for k in (3, 4, 5)) > 0
    assert rectangles > 30  # the single-box draws are exact rectangles


# --------------------------------------------------------------------------------------------------
# Centred boxes


@pytest.mark.parametrize("size", SIZES)
def test_centre_box_default_is_a_centred_quarter(size: tuple[int, int]) -> None:
    h, w = size
    mask = centre_box_mask(h, w)
    assert mask.dtype == np.bool_ and mask.shape == size
    assert abs(mask_coverage(mask) - 0.25) <= 0.01
    assert _is_rectangle(mask)
    assert _is_centred(mask)
    top, bottom, left, right = _bbox(mask)
    assert (bottom - top) / (right - left) == pytest.approx(h / w, rel=0.05)


@pytest.mark.parametrize("size", SIZES + ODD_SIZES[1:])
@pytest.mark.parametrize("area", [0.10, 0.17, 0.33, 0.5, 0.6])
def test_centre_box_area_and_centring(size: tuple[int, int], area: float) -> None:
    h, w = size
    mask = centre_box_mask(h, w, area)
    tolerance = 0.01 if min(h, w) >= 64 else 1.0 / min(h, w)
    assert abs(mask_coverage(mask) - area) <= tolerance
    assert _is_rectangle(mask)
    assert _is_centred(mask)


# --------------------------------------------------------------------------------------------------
# Uncropping


def _edges(mask: np.ndarray) -> dict[str, np.ndarray]:
    return {"left": mask[:, 0], "right": mask[:, -1], "top": mask[0, :], "bottom": mask[-1, :]}


_OPPOSITE = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}


@pytest.mark.parametrize("size", SIZES + ODD_SIZES)
@pytest.mark.parametrize("side", UNCROP_SIDES)
def test_uncrop_coverage_is_half(size: tuple[int, int], side: str) -> None:
    h, w = size
    mask = uncrop_mask_for(h, w, side)
    assert mask.dtype == np.bool_ and mask.shape == size
    assert abs(mask_coverage(mask) - 0.5) <= 1.0 / min(h, w)


@pytest.mark.parametrize("size", SIZES + ODD_SIZES)
@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
def test_uncrop_one_side_is_a_half_at_that_edge(size: tuple[int, int], side: str) -> None:
    mask = uncrop_mask_for(*size, side)
    # The hole and the known part are both solid rectangles (one contiguous half each) ...
    assert _is_rectangle(mask) and _is_rectangle(~mask)
    # ... the hole fills the named edge and does not reach the opposite one.
    edges = _edges(mask)
    assert edges[side].all()
    assert not edges[_OPPOSITE[side]].any()


@pytest.mark.parametrize("size", SIZES + ODD_SIZES)
def test_uncrop_border_is_a_frame_around_a_centred_rectangle(size: tuple[int, int]) -> None:
    h, w = size
    mask = uncrop_mask_for(h, w, "border")
    assert all(edge.all() for edge in _edges(mask).values())
    known = ~mask
    assert _is_rectangle(known)
    assert _is_centred(known)
    top, bottom, left, right = _bbox(known)
    assert (bottom - top) / (right - left) == pytest.approx(h / w, rel=0.1 if min(h, w) < 32 else 0.05)


def test_uncrop_unknown_side_raises() -> None:
    with pytest.raises(ValueError):
        uncrop_mask_for(64, 64, "middle")  # type: ignore[arg-type]


def test_random_uncrop_draws_all_kinds_half_border_half_sides() -> None:
    h, w = 64, 96
    templates = {side: uncrop_mask_for(h, w, side) for side in UNCROP_SIDES}
    rng = np.random.default_rng(8)
    n = 2000
    counts = Counter()
    for _ in range(n):
        mask = uncrop_mask(h, w, rng)
        matches = [side for side, template in templates.items() if np.array_equal(mask, template)]
        assert len(matches) == 1
        counts[matches[0]] += 1
    assert set(counts) == set(UNCROP_SIDES)
    assert abs(counts["border"] / n - 0.5) < 0.05
    for side in ("left", "right", "top", "bottom"):
        assert abs(counts[side] / n - 0.125) < 0.035


def test_uncrop_border_probability_is_configurable() -> None:
    rng = np.random.default_rng(9)
    assert all(sample_uncrop_side(rng, border_prob=0.0) != "border" for _ in range(200))
    assert all(sample_uncrop_side(rng, border_prob=1.0) == "border" for _ in range(200))


# --------------------------------------------------------------------------------------------------
# The inpainting mix


def test_inpaint_kind_frequencies_follow_the_weights() -> None:
    rng = np.random.default_rng(10)
    n = 10_000
    counts = Counter(sample_inpaint_kind(rng) for _ in range(n))
    assert set(counts) == set(INPAINT_MASK_KINDS)
    for kind, expected in zip(INPAINT_MASK_KINDS, (0.55, 0.35, 0.10), strict=True):
        assert abs(counts[kind] / n - expected) < 0.02


def test_inpaint_kind_weights_are_configurable_and_validated() -> None:
    rng = np.random.default_rng(11)
    assert {sample_inpaint_kind(rng, 0.0, 0.0, 1.0) for _ in range(50)} == {"centre_box"}
    assert {sample_inpaint_kind(rng, 2.0, 0.0, 0.0) for _ in range(50)} == {"free_form"}
    with pytest.raises(ValueError):
        sample_inpaint_kind(rng, -1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        sample_inpaint_kind(rng, 0.0, 0.0, 0.0)


def test_inpaint_mask_coverage_always_in_range() -> None:
    cov = _coverages(inpaint_mask, 64, 64, 500, seed=12)
    assert cov.min() >= 0.10 and cov.max() <= 0.60
    assert cov.min() < 0.2 and cov.max() > 0.5


def test_inpaint_weights_select_the_mask_family() -> None:
    rng = np.random.default_rng(14)
    strokes = [inpaint_mask(64, 64, rng, 1.0, 0.0, 0.0) for _ in range(40)]
    assert max(_bbox_fill(m) for m in strokes) < 0.97
    boxes = [inpaint_mask(64, 64, rng, 0.0, 1.0, 0.0) for _ in range(40)]
    assert all(_count_components(m) <= 5 for m in boxes)
    assert sum(_is_rectangle(m) for m in boxes) >= 4
    # Exact rectangles that are not centred: random boxes, not the centred family.
    assert any(_is_rectangle(m) and not _is_centred(m) for m in boxes)


def test_inpaint_centred_boxes_vary_in_area() -> None:
    rng = np.random.default_rng(13)
    masks = [inpaint_mask(64, 64, rng, 0.0, 0.0, 1.0) for _ in range(100)]
    cov = np.array([mask_coverage(m) for m in masks])
    assert cov.min() >= 0.10 and cov.max() <= 0.60
    assert cov.min() < 0.2 and cov.max() > 0.5
    assert all(_is_rectangle(m) for m in masks)


def test_mask_coverage() -> None:
    mask = np.zeros((10, 20), dtype=bool)
    mask[:5, :4] = True
    assert mask_coverage(mask) == pytest.approx(0.1)


# --------------------------------------------------------------------------------------------------
# Exact geometry: a mask is a function of its seed (resume and worker seeding rely on it), so the masks
# of a few fixed seeds are pinned. A change here changes every training batch: update the digests only
# on purpose, and say so in the model card's training log.


def _digest(mask: np.ndarray) -> str:
    return hashlib.sha256(np.packbits(mask).tobytes() + str(mask.shape).encode()).hexdigest()[:16]


def _inpaint_eight(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([inpaint_mask(h, w, rng) for _ in range(8)])


PINNED_MASKS = {
    "free_form 64x64 seed 1": (lambda: free_form_mask(64, 64, np.random.default_rng(1)), "6e1b40be07289a73"),
    "free_form 48x80 seed 2": (lambda: free_form_mask(48, 80, np.random.default_rng(2)), "18e854b37b273882"),
    "free_form 256x256 seed 3": (lambda: free_form_mask(256, 256, np.random.default_rng(3)), "8b4b664cbb71c283"),
    "boxes 64x64 seed 4": (lambda: box_mask(64, 64, np.random.default_rng(4)), "b87d1b4aeea2eabf"),
    "boxes 48x80 seed 5": (lambda: box_mask(48, 80, np.random.default_rng(5)), "ba3eb10c19129fee"),
    "inpaint 64x64 seed 6, eight draws": (lambda: _inpaint_eight(64, 64, 6), "62996c2ec52877d6"),
    "centre_box 17x31 area 0.3": (lambda: centre_box_mask(17, 31, 0.3), "7ace19a12db92677"),
    "border 65x97": (lambda: uncrop_mask_for(65, 97, "border"), "9fc8325646306678"),
}


@pytest.mark.parametrize("name", list(PINNED_MASKS))
def test_masks_of_a_seed_keep_their_exact_geometry(name: str) -> None:
    make, digest = PINNED_MASKS[name]
    assert _digest(make()) == digest


# --------------------------------------------------------------------------------------------------
# The stroke generator's documented shape (DeepFill v2's constants)


@pytest.mark.parametrize("size", [(256, 256), (64, 64), (48, 80)])
def test_strokes_follow_deepfill_constants_scaled_to_the_short_side(size: tuple[int, int]) -> None:
    h, w = size
    rng = np.random.default_rng(11)
    scale = min(h, w) / 256
    mean_step = math.hypot(h, w) / 8
    counts, widths = Counter(), []
    for _ in range(400):
        vertices, width = _random_stroke(h, w, rng, 1.0)
        counts[len(vertices)] += 1
        widths.append(width)
        # every vertex inside the image; a step never longer than twice the mean (the clip)
        assert all(0.0 <= x <= w - 1 and 0.0 <= y <= h - 1 for x, y in vertices)
        for (x0, y0), (x1, y1) in pairwise(vertices):
            assert math.hypot(x1 - x0, y1 - y0) <= 2 * mean_step + 1e-9
    # 4 to 12 turns, so 5 to 13 vertices, each count drawn
    assert set(counts) == set(range(5, 14))
    assert min(widths) >= max(1, round(12 * scale)) and max(widths) <= max(1, round(40 * scale))
    assert max(widths) - min(widths) >= 0.6 * (40 - 12) * scale  # widths spread over the range


def test_strokes_zig_zag_with_turns_alternating_in_sign() -> None:
    # Segment i heads at base ± a_i (a_i in 2π/5 ± 2π/15, the sign alternating), so far from the border
    # (no clamping) each turn is a_i + a_{i+1} in size and turns alternate left and right.
    h = w = 100_000
    lo, hi = 2 * (2 * math.pi / 5 - 2 * math.pi / 15), 2 * (2 * math.pi / 5 + 2 * math.pi / 15)
    rng = np.random.default_rng(12)
    checked = 0
    for _ in range(60):
        vertices, _ = _random_stroke(h, w, rng, 0.0001)
        segments = list(pairwise(vertices))
        if any(math.hypot(x1 - x0, y1 - y0) < 1e-3 for (x0, y0), (x1, y1) in segments):
            continue  # a step clipped to 0 has no heading
        headings = [math.atan2(y1 - y0, x1 - x0) for (x0, y0), (x1, y1) in segments]
        turns = [(b - a + math.pi) % (2 * math.pi) - math.pi for a, b in pairwise(headings)]
        assert all(lo - 1e-6 <= abs(t) <= hi + 1e-6 for t in turns)
        assert all(a * b < 0 for a, b in pairwise(turns))
        checked += 1
    assert checked >= 30


def test_a_shrunk_stroke_is_thinner_and_shorter() -> None:
    wide = [_random_stroke(256, 256, np.random.default_rng(s), 1.0) for s in range(40)]
    thin = [_random_stroke(256, 256, np.random.default_rng(s), 0.25) for s in range(40)]
    for (v1, w1), (v2, w2) in zip(wide, thin, strict=True):
        assert len(v1) == len(v2)
        assert w2 == max(1, round(w1 / 4)) or abs(w2 - w1 / 4) <= 1
    length = lambda v: sum(math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in pairwise(v))  # noqa: E731
    assert np.median([length(v) for v, _ in thin]) < 0.5 * np.median([length(v) for v, _ in wide])


def test_free_form_masks_shrink_the_brush_to_fit_a_narrow_range() -> None:
    # 1–2 % of a 64² image is far below one 256-scaled stroke: only shrinking lets the loop end in range.
    rng = np.random.default_rng(13)
    for _ in range(20):
        cov = mask_coverage(free_form_mask(64, 64, rng, 0.01, 0.02))
        assert 0.01 <= cov <= 0.02


def test_box_mask_rectangles_are_bars_to_squares_within_aspect_three() -> None:
    # One box per mask (n drawn as 1 when the rng says so): check aspect of single-rectangle masks.
    rng = np.random.default_rng(14)
    aspects = []
    for _ in range(600):
        mask = box_mask(256, 256, rng, 0.02, 0.05)
        if _is_rectangle(mask):
            top, bottom, left, right = _bbox(mask)
            aspects.append((bottom - top) / (right - left))
    assert len(aspects) >= 50
    assert min(aspects) >= 1 / 3 - 0.05 and max(aspects) <= 3 + 0.3
    assert min(aspects) < 0.5 and max(aspects) > 2  # the whole range is used, not only squares


def test_box_dims_trade_area_against_aspect() -> None:
    assert _box_dims(64, 64, 1024, 1.0) == (32, 32)
    assert _box_dims(64, 64, 512, 0.5) == (16, 32)
    assert _box_dims(64, 64, 512, 2.0) == (32, 16)
    assert _box_dims(10, 100, 500, 0.1) == (7, 71)  # √(500·0.1) = 7.07 rows


# --------------------------------------------------------------------------------------------------
# The fallbacks after too many missed draws (never reached with sane ranges, so forced here)


def test_box_mask_falls_back_to_one_box_of_middle_coverage_anywhere_in_the_image(monkeypatch) -> None:
    monkeypatch.setattr(masks_module, "_MAX_BOX_TRIES", 0)
    h, w = 48, 80
    rng = np.random.default_rng(15)
    tops, lefts = set(), set()
    for _ in range(300):
        mask = box_mask(h, w, rng, 0.2, 0.3)
        assert mask.dtype == np.bool_ and mask.shape == (h, w) and _is_rectangle(mask)
        assert 0.2 <= mask_coverage(mask) <= 0.3 and abs(mask_coverage(mask) - 0.25) < 0.01
        top, bottom, left, right = _bbox(mask)
        assert abs((bottom - top) / (right - left) - h / w) < 0.1  # the image's aspect
        tops.add(top)
        lefts.add(left)
    bh, bw = bottom - top, right - left
    assert tops == set(range(h - bh + 1)) and lefts == set(range(w - bw + 1))  # every position, edges included


def test_inpaint_centre_box_falls_back_to_the_middle_of_the_range(monkeypatch) -> None:
    monkeypatch.setattr(masks_module, "_MAX_BOX_TRIES", 0)
    rng = np.random.default_rng(16)
    for size in [(64, 64), (17, 31)]:
        mask = inpaint_mask(*size, rng, 0.0, 0.0, 1.0, 0.2, 0.4)
        assert _is_rectangle(mask) and _is_centred(mask)
        assert 0.2 <= mask_coverage(mask) <= 0.4 and abs(mask_coverage(mask) - 0.3) < 0.03
