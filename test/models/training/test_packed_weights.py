"""pack-weights → train --init-from: fp16 EMA weights in the repository seed the next run, counters go on."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import palette_training
from palette_training.export import export
from palette_training.packed_weights import InitFromError, newest_packed_weights, pack_weights
from palette_training.train import ema_decay, learning_rate, load_checkpoint, train

from training_helpers import synthetic_photos, tiny_config

# the folder holding the imported package (the repository's, or mutmut's mutated copy)
TRAINING_DIR = Path(palette_training.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 3-step tiny run and its packed weights."""
    tmp = tmp_path_factory.mktemp("first")
    photos = synthetic_photos(tmp / "photos", 3)
    checkpoint = train(tiny_config(photos, tmp / "run", steps=3))
    pack_weights(checkpoint, tmp / "packed" / "tiny.pt")
    return photos, tmp / "packed" / "tiny.pt"


def test_packed_file_holds_fp16_ema_raw_weights_and_counters_without_optimizer(first_run: tuple[Path, Path]) -> None:
    _, packed_path = first_run
    checkpoint = load_checkpoint(packed_path.parents[1] / "run" / "checkpoints" / "last.pt")
    packed = torch.load(packed_path, weights_only=True)
    assert "optimizer" not in packed
    for name, tensor in checkpoint["model"].items():
        assert torch.equal(packed["model"][name], tensor.half())
    assert {k: packed[k] for k in ("step", "samples_seen", "wall_s", "unet", "train", "hardware")} == \
        {k: checkpoint[k] for k in ("step", "samples_seen", "wall_s", "unet", "train", "hardware")}
    for name, tensor in checkpoint["ema"].items():
        assert packed["ema"][name].dtype == torch.float16
        assert torch.equal(packed["ema"][name], tensor.half())
    # About a quarter of the checkpoint (weights, EMA and two AdamW moments, all fp32) plus the configs.
    checkpoint_bytes = (packed_path.parents[1] / "run" / "checkpoints" / "last.pt").stat().st_size
    assert packed_path.stat().st_size < 0.3 * checkpoint_bytes


def test_ema_only_packing_leaves_the_raw_weights_out(first_run: tuple[Path, Path], tmp_path: Path) -> None:
    _, packed_path = first_run
    checkpoint_path = packed_path.parents[1] / "run" / "checkpoints" / "last.pt"
    small = pack_weights(checkpoint_path, tmp_path / "ema.pt", ema_only=True)
    assert "model" not in small and "ema" in small
    assert (tmp_path / "ema.pt").stat().st_size < 0.6 * packed_path.stat().st_size


def test_init_from_starts_from_the_ema_and_continues_the_counters(first_run: tuple[Path, Path], tmp_path: Path) -> None:
    photos, packed_path = first_run
    packed = torch.load(packed_path, weights_only=True)
    cfg = tiny_config(photos, tmp_path / "next", steps=5, lr=0.0, warmup_steps=2, init_from=str(packed_path))
    warming = dataclasses.replace(cfg, lr=1e-3)  # a fresh AdamW warms up again from the file's step
    assert learning_rate(warming, 3, warmup_start=3) == 0.5e-3 and learning_rate(warming, 4, warmup_start=3) == 1e-3
    after = load_checkpoint(train(cfg))
    assert after["step"] == 5 and after["samples_seen"] == packed["samples_seen"] + 2 * cfg.batch_size
    assert after["wall_s"] > packed["wall_s"] and after["warmup_start"] == 3
    assert after["history"][-1]["until_step"] == 3
    # With lr 0 the raw weights stay the packed raw weights, and the EMA goes on from the packed EMA
    # towards them at the decay of steps 3 and 4 (not restarted from the raw weights).
    for name, tensor in packed["ema"].items():
        raw = packed["model"][name].float()
        assert torch.equal(after["model"][name], raw)
        expected = tensor.float()
        for step in (3, 4):
            expected = expected.lerp(raw, 1.0 - ema_decay(cfg, step))
        assert torch.equal(after["ema"][name], expected), name
    steps = [json.loads(line)["step"] for line in (tmp_path / "next" / "loss.jsonl").read_text().splitlines()]
    assert steps == [4, 5]


def test_a_checkpoint_in_out_wins_over_init_from(first_run: tuple[Path, Path], tmp_path: Path) -> None:
    photos, packed_path = first_run
    train(tiny_config(photos, tmp_path / "own", steps=2))
    resumed = load_checkpoint(train(tiny_config(photos, tmp_path / "own", steps=4, init_from=str(packed_path))))
    assert resumed["step"] == 4 and resumed["samples_seen"] == 4 * 4 and resumed["history"] == []


def test_init_from_refuses_another_preset_and_a_finished_step(first_run: tuple[Path, Path], tmp_path: Path) -> None:
    photos, packed_path = first_run
    with pytest.raises(InitFromError, match="holds a 'tiny' network, but --preset is 'small'"):
        train(tiny_config(photos, tmp_path / "a", preset="small", steps=5, init_from=str(packed_path)))
    with pytest.raises(InitFromError, match="already at step 3"):
        train(tiny_config(photos, tmp_path / "b", steps=3, init_from=str(packed_path)))
    result = subprocess.run(
        [sys.executable, "-m", "palette_training", "train", "--preset", "small", "--data", str(photos),
         "--out", str(tmp_path / "c"), "--device", "cpu", "--init-from", str(packed_path)],
        cwd=TRAINING_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "pass --preset tiny" in result.stderr and "Traceback" not in result.stderr


def test_export_and_find_weights_read_packed_files(first_run: tuple[Path, Path], tmp_path: Path) -> None:
    photos, packed_path = first_run
    manifest = export(packed_path, tmp_path / "model", "packed-tiny")
    assert manifest["training"]["steps"] == 3 and manifest["weights"]["storage"] == "fp16"
    later = load_checkpoint(train(tiny_config(photos, tmp_path / "later", steps=5, init_from=str(packed_path))))
    assert later["step"] == 5
    pack_weights(tmp_path / "later" / "checkpoints" / "last.pt", tmp_path / "dir" / "a-later.pt")
    pack_weights(packed_path.parents[1] / "run" / "checkpoints" / "last.pt", tmp_path / "dir" / "z-earlier.pt")
    assert newest_packed_weights(tmp_path / "dir", "tiny") == tmp_path / "dir" / "a-later.pt"  # by step, not name
    assert newest_packed_weights(tmp_path / "dir", "small") is None
    assert newest_packed_weights(tmp_path / "nowhere", "tiny") is None


def test_the_prediction_target_travels_with_the_file_not_the_preset() -> None:
    from palette_training.config import PRESETS, UNetConfig
    from palette_training.packed_weights import is_preset, preset_name

    if "prediction" not in {f.name for f in dataclasses.fields(UNetConfig)}:
        pytest.skip("this UNetConfig has no prediction field")
    v_tiny = dataclasses.replace(PRESETS["tiny"], prediction="v")
    assert is_preset(v_tiny, "tiny") and not is_preset(v_tiny, "small") and preset_name(v_tiny) == "tiny"


def test_prediction_flag_switches_a_new_run_from_eps_weights_to_v_but_never_a_resumed_one(
        first_run: tuple[Path, Path], tmp_path: Path) -> None:
    photos, packed_path = first_run
    assert torch.load(packed_path, weights_only=True)["unet"].get("prediction", "eps") == "eps"
    switched = load_checkpoint(train(tiny_config(photos, tmp_path / "v", steps=4, init_from=str(packed_path),
                                                 prediction="v")))
    assert switched["unet"]["prediction"] == "v" and switched["step"] == 4
    with pytest.raises(ValueError, match="only applies to a new run"):
        train(tiny_config(photos, tmp_path / "v", steps=5, prediction="eps"))
    fresh = load_checkpoint(train(tiny_config(photos, tmp_path / "fresh-v", steps=1, prediction="v")))
    assert fresh["unet"]["prediction"] == "v"
