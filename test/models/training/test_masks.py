"""Tests for the Palette training masks (inpainting and uncropping)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from palette_training.masks import (
    INPAINT_MASK_KINDS,
    UNCROP_SIDES,
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
