"""The sample grids written while training: DDIM samples of fixed examples, laid out as x | sample | y."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from palette_training.config import PRESETS
from palette_training.corruptions import from_model_range
from palette_training.diffusion import TrainingSchedule
from palette_training.sample_grid import sample_examples, write_sample_grid
from palette_training.unet import PaletteUNet

CPU = torch.device("cpu")
SCHEDULE = TrainingSchedule()


class Oracle(torch.nn.Module):
    """Predicts exactly the ε that makes ŷ0 equal to the source x: the samples in the hole become x."""

    def __init__(self) -> None:
        super().__init__()
        self.modes: list[bool] = []
        self.gammas: list[float] = []

    def forward(self, cond: torch.Tensor, y_t: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        self.modes.append(self.training)
        self.gammas.append(float(gamma[0]))
        g = gamma.double()[:, None, None, None]
        return ((y_t.double() - g.sqrt() * cond.double().clamp(-1, 1)) / (1 - g).sqrt()).float()


def level(k: int) -> float:
    """The model-range value that from_model_range maps to the byte k exactly."""
    return -1.0 + 2.0 * k / 255.0


def example(cond_byte: int, y_byte: int, hole: np.ndarray, size: int = 4) -> dict[str, np.ndarray]:
    return {"cond": np.full((3, size, size), level(cond_byte), np.float32),
            "y": np.full((3, size, size), level(y_byte), np.float32),
            "hole": hole[None].astype(np.float32)}


def test_samples_keep_the_known_pixels_of_y_and_fill_the_hole_from_the_model() -> None:
    hole = np.zeros((4, 4), bool)
    hole[1:3, 1:3] = True  # an inpainting hole in the middle
    examples = [example(200, 40, hole), example(10, 250, np.ones((4, 4), bool))]
    out = sample_examples(Oracle(), examples, SCHEDULE, steps=5, device=CPU)
    assert out.shape == (2, 3, 4, 4) and out.device.type == "cpu"
    assert torch.equal(out[0][:, ~torch.from_numpy(hole)], torch.full((3, 12), level(40)))  # y, exactly
    torch.testing.assert_close(out[0][:, 1:3, 1:3], torch.full((3, 2, 2), level(200)), atol=1e-4, rtol=0)
    torch.testing.assert_close(out[1], torch.full((3, 4, 4), level(10)), atol=1e-4, rtol=0)  # all hole → x


def test_sampling_walks_the_respaced_levels_in_eval_mode_and_restores_the_training_mode() -> None:
    model = Oracle().train()
    sample_examples(model, [example(0, 0, np.ones((4, 4), bool))], SCHEDULE, steps=4, device=CPU)
    assert model.modes == [False] * 4  # one call per step, all in eval mode (dropout off)
    assert model.training  # ... and back to training afterwards
    lo, hi = SCHEDULE.gamma_range()
    assert model.gammas == sorted(model.gammas)  # from pure noise towards the clean image
    assert model.gammas[0] == pytest.approx(lo, rel=1e-5) and model.gammas[-1] == pytest.approx(hi, abs=2e-6)
    model.eval()
    sample_examples(model, [example(0, 0, np.ones((4, 4), bool))], SCHEDULE, steps=2, device=CPU)
    assert not model.training  # an EMA copy in eval mode stays in eval mode


def test_samples_are_reproducible_for_a_seed_and_differ_between_seeds() -> None:
    torch.manual_seed(0)
    model = PaletteUNet(PRESETS["tiny"])
    rng = np.random.default_rng(5)
    examples = [{"cond": rng.uniform(-1, 1, (3, 16, 16)).astype(np.float32),
                 "y": rng.uniform(-1, 1, (3, 16, 16)).astype(np.float32),
                 "hole": np.ones((1, 16, 16), np.float32)} for _ in range(2)]
    first = sample_examples(model, examples, SCHEDULE, steps=2, device=CPU, seed=3)
    torch.manual_seed(99)  # the global generator plays no part
    assert torch.equal(first, sample_examples(model, examples, SCHEDULE, steps=2, device=CPU, seed=3))
    assert not torch.allclose(first, sample_examples(model, examples, SCHEDULE, steps=2, device=CPU, seed=4))
    assert first.abs().max() <= 1.0


def test_grid_lays_out_source_sample_original_triplets_per_row(tmp_path: Path) -> None:
    full = np.ones((4, 4), bool)
    half = np.zeros((4, 4), bool)
    half[:, :2] = True  # the left half is the hole: the sample is x there and y on the right
    examples = [example(10 + 20 * i, 100 + 20 * i, half if i == 0 else full) for i in range(4)]
    examples[1]["cond"][0] = 3.0  # x may hold N(0, 1) noise beyond [-1, 1]: shown clipped to white
    path = tmp_path / "samples" / "step-0000004.png"  # a folder that does not exist yet
    write_sample_grid(Oracle(), examples, SCHEDULE, steps=3, path=path, device=CPU, per_row=2)

    grid = np.asarray(Image.open(path))
    assert grid.shape == (2 * 4, 2 * 3 * 4, 3)  # 2 rows of 2 triplets of 4×4 images
    tile = lambda row, col: grid[row * 4 : row * 4 + 4, col * 4 : col * 4 + 4]  # noqa: E731
    for i, e in enumerate(examples):
        row, first = divmod(i, 2)
        x, sample, y = (tile(row, 3 * first + k) for k in range(3))
        assert np.array_equal(x, from_model_range(e["cond"]))
        assert np.array_equal(y, np.full((4, 4, 3), 100 + 20 * i, np.uint8))
        expected = np.full((4, 4, 3), 10 + 20 * i, np.uint8)
        expected[:, :, 0] = 255 if i == 1 else expected[:, :, 0]
        if i == 0:
            expected[:, 2:] = 100  # the known right half is the original y
        assert np.array_equal(sample, expected), i
    assert np.array_equal(tile(0, 3)[..., 0], np.full((4, 4), 255, np.uint8))  # the clipped red channel


def test_a_short_last_row_is_padded_with_black(tmp_path: Path) -> None:
    full = np.ones((4, 4), bool)
    examples = [example(10 + 20 * i, 100 + 20 * i, full) for i in range(3)]
    path = tmp_path / "grid.png"
    write_sample_grid(Oracle(), examples, SCHEDULE, steps=2, path=path, device=CPU, per_row=2)
    grid = np.asarray(Image.open(path))
    assert grid.shape == (2 * 4, 2 * 3 * 4, 3)
    assert np.array_equal(grid[4:8, 12:24], np.zeros((4, 12, 3), np.uint8))  # the missing fourth triplet
    assert np.array_equal(grid[4:8, 8:12], np.full((4, 4, 3), 140, np.uint8))  # the third example's original
