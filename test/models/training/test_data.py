"""Training examples: crops, the four tasks, their determinism, and the multi-scale buckets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from palette_training.config import TASKS
from palette_training.corruptions import to_model_range
from palette_training.data import (
    PhotoSet,
    ScaleBuckets,
    StepKeys,
    TaskExamples,
    batches,
    fixed_examples,
    list_photos,
    load_photo,
    make_example,
    parse_scales,
    random_crop,
)

from training_helpers import synthetic_photos


def _photo(seed: int = 0, h: int = 48, w: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _windows(photo: np.ndarray, side: int) -> list[np.ndarray]:
    h, w = photo.shape[:2]
    return [photo[t : t + side, s : s + side] for t in range(h - side + 1) for s in range(w - side + 1)]


def test_random_crop_is_square_at_the_resolution_and_deterministic() -> None:
    photo = _photo()
    a = random_crop(photo, np.random.default_rng(3), 16, 0.5)
    b = random_crop(photo, np.random.default_rng(3), 16, 0.5)
    assert a.shape == (16, 16, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, random_crop(photo, np.random.default_rng(4), 16, 0.5))


def test_random_crop_flips_about_half_the_time() -> None:
    photo = _photo(h=20, w=20)  # min_scale 1 and a 20-pixel short side: the only crop is the whole photo
    flips = 0
    for seed in range(200):
        out = random_crop(photo, np.random.default_rng(seed), 20, 1.0)
        assert np.array_equal(out, photo) or np.array_equal(out, photo[:, ::-1])
        flips += int(np.array_equal(out, photo[:, ::-1]))
    assert 60 < flips < 140


def test_native_crops_are_unresized_pixels_of_the_photo() -> None:
    photo = _photo(h=24, w=30)
    windows = _windows(photo, 12)
    for seed in range(10):
        out = random_crop(photo, np.random.default_rng(seed), 12, 0.5, native=True)
        assert any(np.array_equal(out, win) or np.array_equal(out, win[:, ::-1]) for win in windows), seed


def test_crops_that_are_not_native_cover_a_drawn_share_of_the_short_side_resized() -> None:
    # Not native: the side is drawn in [min_scale, 1] × short side and resized, never a plain window.
    photo = _photo(h=24, w=30)
    windows = _windows(photo, 12)
    for seed in range(10):
        out = random_crop(photo, np.random.default_rng(seed), 12, 0.6)
        assert not any(np.array_equal(out, win) or np.array_equal(out, win[:, ::-1]) for win in windows), seed


def test_a_native_crop_of_a_photo_smaller_than_the_resolution_is_a_resized_crop() -> None:
    photo = _photo(h=10, w=14)
    out = random_crop(photo, np.random.default_rng(0), 16, 1.0, native=True)
    assert out.shape == (16, 16, 3)


def test_make_example_inpaint_keeps_the_known_pixels_and_fills_the_hole_with_noise() -> None:
    y_u8 = _photo(h=32, w=32)
    ex = make_example(y_u8, "inpaint", np.random.default_rng(1))
    hole = ex["hole"][0].astype(bool)
    assert ex["task"] == TASKS.index("inpaint") and 0 < hole.mean() < 1
    assert np.allclose(ex["cond"][:, ~hole], ex["y"][:, ~hole])
    assert np.allclose(ex["y"], to_model_range(y_u8))
    noise = ex["cond"][:, hole]
    assert abs(noise.mean()) < 0.2 and 0.8 < noise.std() < 1.2  # N(0, 1), not the photo


def test_make_example_inpaint_draws_the_inpainting_mix_not_uncrop_halves() -> None:
    # Inpainting holes cover 10–60 % and vary; uncrop holes are always exactly half the image.
    rng = np.random.default_rng(2)
    coverages = [make_example(_photo(h=32, w=32), "inpaint", rng)["hole"].mean() for _ in range(30)]
    assert all(0.1 <= c <= 0.6 for c in coverages)
    assert sum(abs(c - 0.5) > 0.02 for c in coverages) >= 20 and max(coverages) - min(coverages) > 0.2


def test_make_example_uncrop_hole_touches_the_border() -> None:
    for seed in range(10):
        ex = make_example(_photo(h=32, w=32), "uncrop", np.random.default_rng(seed))
        hole = ex["hole"][0].astype(bool)
        assert ex["task"] == TASKS.index("uncrop") and 0 < hole.mean() < 1
        assert hole[0].all() or hole[-1].all() or hole[:, 0].all() or hole[:, -1].all()
        assert np.allclose(ex["cond"][:, ~hole], ex["y"][:, ~hole])


def test_make_example_colorize_gives_a_grey_source_and_a_full_hole() -> None:
    ex = make_example(_photo(h=16, w=16), "colorize", np.random.default_rng(0))
    assert ex["task"] == TASKS.index("colorize") and ex["hole"].all()
    assert np.allclose(ex["cond"][0], ex["cond"][1]) and np.allclose(ex["cond"][1], ex["cond"][2])
    assert not np.allclose(ex["cond"], ex["y"], atol=0.05)


def test_make_example_jpeg_gives_a_compressed_source_close_to_the_photo() -> None:
    y_u8 = np.asarray(np.kron(_photo(h=8, w=8), np.ones((4, 4, 1))), dtype=np.uint8)  # blocky: JPEG keeps it close
    ex = make_example(y_u8, "jpeg", np.random.default_rng(0))
    assert ex["task"] == TASKS.index("jpeg") and ex["hole"].all()
    diff = np.abs(ex["cond"] - ex["y"])
    assert 0 < diff.mean() < 0.5


@pytest.mark.parametrize("task", TASKS)
def test_make_example_is_a_pure_function_of_the_generator(task: str) -> None:
    y_u8 = _photo(h=32, w=32)
    a = make_example(y_u8, task, np.random.default_rng(11))
    b = make_example(y_u8, task, np.random.default_rng(11))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert a["cond"].dtype == a["y"].dtype == a["hole"].dtype == np.float32
    assert a["y"].shape == a["cond"].shape == (3, 32, 32) and a["hole"].shape == (1, 32, 32)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> PhotoSet:
    return PhotoSet(synthetic_photos(tmp_path_factory.mktemp("photos"), 3))


MIX = {t: 0.25 for t in TASKS}


def test_examples_depend_on_step_rank_and_index_only(photos: PhotoSet) -> None:
    ds = TaskExamples(photos, 16, MIX, 0.5, seed=7)
    again = TaskExamples(photos, 16, MIX, 0.5, seed=7)
    assert np.array_equal(ds[(5, 0, 1)]["y"], again[(5, 0, 1)]["y"])
    for other in ((6, 0, 1), (5, 1, 1), (5, 0, 2)):
        assert not np.array_equal(ds[(5, 0, 1)]["y"], ds[other]["y"]), other
    assert not np.array_equal(ds[(5, 0, 1)]["y"], TaskExamples(photos, 16, MIX, 0.5, seed=8)[(5, 0, 1)]["y"])


def test_no_native_crops_keep_the_examples_of_the_rng_stream_before_native_crops(photos: PhotoSet) -> None:
    """native_crop=0 draws nothing extra: the examples are those of photo, task, crop, example in that order."""
    ds = TaskExamples(photos, 16, MIX, 0.5, seed=7, native_crop=0.0)
    probs = np.array([MIX[t] for t in TASKS])
    for key in ((0, 0, 0), (3, 1, 2), (9, 0, 5)):
        rng = np.random.default_rng([7, *key])
        photo = photos.images[int(rng.integers(0, len(photos)))]
        task = TASKS[int(rng.choice(len(TASKS), p=probs))]
        expected = make_example(random_crop(photo, rng, 16, 0.5), task, rng)
        got = ds[key]
        assert all(np.array_equal(expected[k], got[k]) for k in expected), key


def test_a_dataset_with_native_crop_one_gives_native_crops(photos: PhotoSet) -> None:
    ds = TaskExamples(photos, 16, MIX, 0.5, seed=7, native_crop=1.0)
    windows = [w for img in photos.images for w in _windows(img, 16)]
    for i in range(4):
        y = ds[(3, 0, i)]["y"]
        assert any(np.allclose(y, to_model_range(w)) or np.allclose(y, to_model_range(w[:, ::-1])) for w in windows), i


def test_a_dataset_key_with_a_size_gives_that_size(photos: PhotoSet) -> None:
    ds = TaskExamples(photos, 16, MIX, 0.5, seed=7, native_crop=0.5)
    assert ds[(0, 0, 0, 32)]["y"].shape == (3, 32, 32) and ds[(0, 0, 0)]["y"].shape == (3, 16, 16)


def test_scale_buckets_keep_the_pixels_per_batch() -> None:
    b = ScaleBuckets(64, 16, "64:0.5,128:0.5")
    assert b.batch_size(64) == 16 and b.batch_size(128) == 4 and b.batch_size(32) == 64
    assert ScaleBuckets(64, 16).resolution(123) == 64  # no spec: one size


def test_scale_bucket_sizes_are_deterministic_and_shared_by_all_ranks() -> None:
    a, b = ScaleBuckets(64, 16, "64:0.5,128:0.5", seed=3), ScaleBuckets(64, 16, "64:0.5,128:0.5", seed=3)
    sizes = [a.resolution(s) for s in range(200)]
    assert sizes == [b.resolution(s) for s in range(200)] and set(sizes) == {64, 128}
    assert sizes != [ScaleBuckets(64, 16, "64:0.5,128:0.5", seed=4).resolution(s) for s in range(200)]
    rank0, rank1 = iter(StepKeys(10, a, 0)), iter(StepKeys(10, a, 1))
    for step in range(10, 40):
        k0, k1 = next(rank0), next(rank1)
        assert len(k0) == len(k1) == a.batch_size(a.resolution(step))
        assert {k[3] for k in k0} == {k[3] for k in k1} == {a.resolution(step)}
        assert {k[0] for k in k0} == {step} and {k[1] for k in k0} == {0} and {k[1] for k in k1} == {1}
        assert [k[2] for k in k0] == list(range(len(k0)))


def test_scale_bucket_shares_are_respected() -> None:
    b = ScaleBuckets(64, 16, "64:0.85,128:0.15", seed=0)
    n = 2000
    big = sum(b.resolution(s) == 128 for s in range(n))
    sd = (n * 0.15 * 0.85) ** 0.5
    assert abs(big - 0.15 * n) < 5 * sd, big


def test_parse_scales_reads_sizes_and_shares() -> None:
    assert parse_scales("64:0.85, 128:0.15") == {64: 0.85, 128: 0.15}
    assert parse_scales("96") == {96: 1.0} and parse_scales("") == {}


@pytest.mark.parametrize("spec", ["abc:1", "0:1", "-64:1", "64.5:1", "64:-1,128:1", "64:0", "64:x", ":1"])
def test_parse_scales_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_scales(spec)


# --------------------------------------------------------------------------------------------------
# Reading the photo folder


def test_list_photos_finds_image_files_by_suffix_in_any_case_sorted_and_recursively(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ["b.JPG", "a.png", "sub/c.webp", "d.bmp", "e.jpeg", "notes.txt", "raw.cr2"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "folder.png").mkdir()  # a folder named like a photo is not one
    names = [p.relative_to(tmp_path).as_posix() for p in list_photos(tmp_path)]
    assert names == ["a.png", "b.JPG", "d.bmp", "e.jpeg", "sub/c.webp"]


def test_list_photos_refuses_a_folder_without_photos(tmp_path) -> None:
    (tmp_path / "notes.txt").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no photos"):
        list_photos(tmp_path)


def test_load_photo_downscales_the_short_side_to_the_limit_keeping_the_aspect(tmp_path) -> None:
    big = np.random.default_rng(1).integers(0, 256, (300, 500, 3), dtype=np.uint8)
    Image.fromarray(big).save(tmp_path / "big.png")
    out = load_photo(tmp_path / "big.png", 120)
    assert out.dtype == np.uint8 and out.shape == (120, 200, 3)
    # antialiased bicubic, as PIL gives it
    ref = np.asarray(Image.fromarray(big).resize((200, 120), Image.BICUBIC))
    assert np.array_equal(out, ref)
    assert load_photo(tmp_path / "big.png", 300).shape == (300, 500, 3)  # at the limit: untouched
    assert np.array_equal(load_photo(tmp_path / "big.png", 1000), big)


def test_load_photo_gives_rgb_for_grey_and_transparent_photos(tmp_path) -> None:
    grey = np.arange(40 * 30, dtype=np.uint8).reshape(30, 40)
    Image.fromarray(grey, "L").save(tmp_path / "grey.png")
    Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 128)]), "RGBA").save(tmp_path / "rgba.png")
    for name in ["grey.png", "rgba.png"]:
        out = load_photo(tmp_path / name, 384)
        assert out.shape == (30, 40, 3) and np.array_equal(out[..., 1], grey) and out.flags.writeable


# --------------------------------------------------------------------------------------------------
# Batches and the fixed sample-grid examples


def test_batches_follow_the_buckets_from_the_start_step(photos: PhotoSet) -> None:
    ds = TaskExamples(photos, 16, MIX, 0.5, seed=7)
    buckets = ScaleBuckets(16, 4, "16:0.5,32:0.5", seed=3)
    it = batches(ds, 10, buckets, rank=1, num_workers=0)
    for step in range(10, 16):
        batch = next(it)
        res = buckets.resolution(step)
        assert batch["y"].shape == (buckets.batch_size(res), 3, res, res)
        assert batch["hole"].shape == (buckets.batch_size(res), 1, res, res)
        assert torch.equal(batch["y"][0], torch.from_numpy(ds[(step, 1, 0, res)]["y"]))
    one = next(batches(ds, 0, 2, rank=0, num_workers=0))  # an int: one size, that batch size
    assert one["y"].shape == (2, 3, 16, 16)


def test_fixed_examples_are_the_same_few_per_task_every_time(photos: PhotoSet) -> None:
    a = fixed_examples(photos, 16, 2)
    b = fixed_examples(photos, 16, 2)
    assert len(a) == 2 * len(TASKS)
    assert [int(e["task"]) for e in a] == [t for t in range(len(TASKS)) for _ in range(2)]
    for x, y in zip(a, b, strict=True):
        assert x["y"].shape == (3, 16, 16) and np.array_equal(x["y"], y["y"]) and np.array_equal(x["cond"], y["cond"])
    assert not np.array_equal(a[0]["y"], a[1]["y"])
    assert not np.array_equal(a[0]["y"], fixed_examples(photos, 16, 2, seed=99)[0]["y"])
