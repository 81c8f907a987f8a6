"""The evaluation inputs: masks of the right size and seeded, uncrop geometry that lands on the eval size,
and baselines that keep the known pixels."""

import numpy as np
import pytest
from palette_eval.baselines import baselines_for
from palette_eval.cases import CASES, case_by_name, extend_argument, prepare
from palette_eval.photos import Photo, centre_square

from palette_training.fixture import draw_synthetic_photo


def photo(index: int, size: int) -> Photo:
    image = draw_synthetic_photo(np.random.default_rng(index), size=96)
    return Photo(index, f"{index:02d}-synthetic", "synthetic.png", centre_square(image, size))


@pytest.mark.parametrize("size", [32, 64])
def test_every_case_builds_an_input_of_the_evaluation_size(size: int) -> None:
    for case in CASES:
        p = prepare(case, photo(0, size), seed=0)
        assert p.original.shape == p.shown.shape == (size, size, 3)
        if case.name == "inpaint-free-form":
            assert 0.20 <= p.hole.mean() <= 0.30
        elif case.name == "inpaint-centre-box":
            assert p.hole.mean() == pytest.approx(0.25, abs=0.02)
        elif case.product_task == "uncrop":
            e = p.extend
            h, w = p.product_image.shape[:2]
            assert (h + e["top"] + e["bottom"], w + e["left"] + e["right"]) == (size, size)
            assert p.hole.mean() == pytest.approx(0.5, abs=0.02)
            known = p.original[e["top"] : size - e["bottom"], e["left"] : size - e["right"]]
            assert np.array_equal(p.product_image, known)
            assert "." not in extend_argument(e)  # pixels, not fractions
        elif case.name == "colorize":
            assert np.array_equal(p.product_image[..., 0], p.product_image[..., 2])
        else:
            assert p.product_image.shape == (size, size, 3) and not np.array_equal(p.product_image, p.original)


def test_uncrop_geometry_is_what_the_paper_masks() -> None:
    right = prepare(case_by_name("uncrop-right"), photo(0, 64), 0)
    assert right.extend == {"left": 0, "right": 32, "top": 0, "bottom": 0}
    border = prepare(case_by_name("uncrop-border"), photo(0, 64), 0)
    assert all(v > 0 for v in border.extend.values())


def test_masks_are_fixed_by_seed_and_photo_index() -> None:
    case = case_by_name("inpaint-free-form")
    a, b = prepare(case, photo(3, 64), 0), prepare(case, photo(3, 64), 0)
    assert np.array_equal(a.hole, b.hole)
    assert not np.array_equal(a.hole, prepare(case, photo(4, 64), 0).hole)
    assert not np.array_equal(a.hole, prepare(case, photo(3, 64), 1).hole)


def test_baselines_fill_only_the_hole() -> None:
    for name in ("inpaint-free-form", "uncrop-right", "uncrop-border"):
        p = prepare(case_by_name(name), photo(1, 64), 0)
        outputs = baselines_for(p)
        expected = {"OpenCV Telea", "OpenCV Navier-Stokes"}
        if "uncrop" in name:
            expected |= {"reflect extension", "edge extension"}
        assert set(outputs) == expected
        for image in outputs.values():
            assert image.shape == (64, 64, 3) and image.dtype == np.uint8
            assert np.array_equal(image[~p.hole], p.original[~p.hole])
    assert list(baselines_for(prepare(case_by_name("colorize"), photo(1, 64), 0))) == ["grayscale input"]
    jpeg_baselines = baselines_for(prepare(case_by_name("jpeg-q10"), photo(1, 64), 0))
    assert list(jpeg_baselines) == ["input JPEG", "OpenCV non-local means"]


def test_non_local_means_baseline_smooths_the_jpeg_and_keeps_its_colours() -> None:
    p = prepare(case_by_name("jpeg-q10"), photo(2, 64), 0)
    jpeg = p.product_image.astype(np.float64)
    nlm = baselines_for(p)["OpenCV non-local means"].astype(np.float64)
    assert nlm.shape == jpeg.shape
    # Smoother: less energy in the 1-px differences (block edges and ringing) than the JPEG it denoised.
    assert np.abs(np.diff(nlm, axis=1)).mean() < np.abs(np.diff(jpeg, axis=1)).mean()
    # The same picture: channel means within 2 levels (RGB order kept through OpenCV's BGR).
    assert np.all(np.abs(nlm.mean(axis=(0, 1)) - jpeg.mean(axis=(0, 1))) < 2)
