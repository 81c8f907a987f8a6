import json
from pathlib import Path

import numpy as np
import pytest
import torch

from palette_training.__main__ import main
from palette_training.config import PRESETS, TASKS, to_dict
from palette_training.data import PhotoSet
from palette_training.diffusion import TrainingSchedule
from palette_training.size_compare import benchmark, forward_flops, markdown_table, paired_difference, race_steps
from palette_training.unet import PaletteUNet
from palette_training.val_loss import evaluate_checkpoint, gamma_grid, validation_examples, validation_loss

from training_helpers import synthetic_photos, tiny_config


def tiny_checkpoint(path: Path, data: Path, seed: int) -> Path:
    """A checkpoint as train.py writes it, with random (seeded) tiny weights: no training needed."""
    torch.manual_seed(seed)
    model, ema = PaletteUNet(PRESETS["tiny"]), PaletteUNet(PRESETS["tiny"])
    with torch.no_grad():  # the output conv starts at zero: jitter every weight so the nets differ
        for p in [*model.parameters(), *ema.parameters()]:
            p.add_(0.05 * torch.randn_like(p))
    cfg = tiny_config(data, path.parent, resolution=16)
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "unet": to_dict(model.cfg),
                "train": to_dict(cfg), "step": 3, "samples_seen": 12}, path)
    return path


def test_same_checkpoint_gives_identical_numbers(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "val", 3)
    ckpt = tiny_checkpoint(tmp_path / "a.pt", photos, seed=1)
    first = evaluate_checkpoint(ckpt, photos, per_task=3, levels=4, weights="model")
    second = evaluate_checkpoint(ckpt, photos, per_task=3, levels=4, weights="model")
    first.pop("seconds"), second.pop("seconds")
    assert first == second
    assert set(first["loss_per_task"]) == set(TASKS)
    assert first["resolution"] == 16  # from the checkpoint's training config
    assert first["loss"] == pytest.approx(np.mean(list(first["loss_per_task"].values())))
    assert len(first["loss_per_gamma"]) == 4 and len(first["loss_per_example"]) == 3 * len(TASKS)


def test_two_checkpoints_see_the_same_inputs(tmp_path: Path) -> None:
    photos = PhotoSet(synthetic_photos(tmp_path / "val", 3))
    a = validation_examples(photos, 16, per_task=3)
    b = validation_examples(photos, 16, per_task=5)  # a longer list starts with the same examples
    by_task = [b[t * 5 + j] for t in range(len(TASKS)) for j in range(3)]
    for x, y in zip(a, by_task, strict=True):
        for key in ("y", "cond", "hole", "task"):
            np.testing.assert_array_equal(x[key], y[key])
    other_seed = validation_examples(photos, 16, per_task=3, seed=5)
    assert not np.array_equal(a[0]["y"], other_seed[0]["y"])


def test_native_examples_keep_the_photos_own_scale(tmp_path: Path) -> None:
    """--native: windows of the photo as stored, so a 1-px checkerboard keeps its full contrast; the
    whole-scene crops (35–100 % of a 120-px side resized to 16) average it away."""
    from PIL import Image
    folder = tmp_path / "val"
    folder.mkdir()
    board = ((np.indices((120, 120)).sum(axis=0) % 2) * 255).astype(np.uint8)
    for k in range(2):
        Image.fromarray(np.stack([board] * 3, axis=-1)).save(folder / f"board{k}.png")
    photos = PhotoSet(folder)
    native = validation_examples(photos, 16, per_task=2, native=True)
    resized = validation_examples(photos, 16, per_task=2)
    contrast = lambda ex: float(np.abs(np.diff(ex["y"], axis=-1)).mean())  # noqa: E731
    assert min(contrast(e) for e in native) > 1.9  # neighbours at −1 and +1
    assert max(contrast(e) for e in resized) < 1.0
    again = validation_examples(photos, 16, per_task=2, native=True)
    for x, y in zip(native, again, strict=True):
        np.testing.assert_array_equal(x["y"], y["y"])


def test_gamma_grid_spans_the_training_schedule() -> None:
    gammas = gamma_grid(8)
    lo, hi = TrainingSchedule().gamma_range()
    assert len(gammas) == 8 and np.all(np.diff(gammas) < 0)  # from almost clean to almost pure noise
    assert gammas[0] > 0.9 and gammas[-1] < 1e-3 and lo <= gammas.min() and gammas.max() <= hi


def test_a_net_that_predicts_zero_scores_the_noise_variance(tmp_path: Path) -> None:
    """ε̂ = 0 leaves the loss at mean(ε²) over the hole ≈ 1: the loss is the ε-L2 of training."""
    class Zero(torch.nn.Module):
        def forward(self, cond: torch.Tensor, y_t: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
            return torch.zeros_like(y_t)

    photos = PhotoSet(synthetic_photos(tmp_path / "val", 2))
    result = validation_loss(Zero(), validation_examples(photos, 32, per_task=4), gamma_grid(4))
    for task, value in result["loss_per_task"].items():
        assert value == pytest.approx(1.0, abs=0.05), task


def test_cli_writes_json_and_tells_checkpoints_apart(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    photos = synthetic_photos(tmp_path / "val", 2)
    scores = []
    for seed in (1, 2):
        ckpt = tiny_checkpoint(tmp_path / f"{seed}.pt", photos, seed)
        out = tmp_path / f"{seed}.json"
        assert main(["val-loss", "--checkpoint", str(ckpt), "--data", str(photos), "--per-task", "2",
                     "--levels", "2", "--weights", "ema", "--out", str(out)]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert printed == json.loads(out.read_text())
        scores.append(printed)
    assert scores[0]["loss"] != scores[1]["loss"]
    diff = paired_difference(scores[1], scores[0])
    assert diff["overall"]["mean"] == pytest.approx(scores[1]["loss"] - scores[0]["loss"])
    report = {"race": {"threads": 1, "val_loss": [{"name": f"tiny-{i}", **s} for i, s in enumerate(scores)]},
              "flops": [{"preset": "tiny", "resolution": 16, "forward_flops_per_sample": 6e7}],
              "bench_1_threads": [{"preset": "tiny", "resolution": 16, "samples_per_second": 99.0}]}
    rows = markdown_table(report).splitlines()
    assert len(rows) == 4 and rows[2].startswith("| tiny-0 | ema | 12 | 0.06 | 99.0 |")


def test_flops_and_equal_compute_steps() -> None:
    flops = forward_flops("tiny", 16)
    assert flops["forward_flops_per_sample"] > 0
    # Forward + backward ≈ 3 × forward is the estimate the race's budget uses.
    assert 2.5 < flops["train_flops_per_sample_measured"] / flops["forward_flops_per_sample"] < 3.5
    assert race_steps({"small": 1.0, "base": 4.0}, ["small", "base"], 6400, 16) == {"small": 400, "base": 100}


def test_benchmark_times_every_config() -> None:
    threads = torch.get_num_threads()
    try:
        rows = benchmark([("tiny", 16)], threads=1, batch=2, warmup=1, timed=2)
    finally:
        torch.set_num_threads(threads)
    assert rows[0]["samples_per_second"] > 0 and len(rows[0]["step_seconds"]) == 2
