"""`palette_eval speed` with tiny settings: a tiny checkpoint trained for 2 steps and its export, the
daemon against PyTorch eager, first preview, npm run bench and peak memory on a small "big" image."""

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from palette_eval.cli import main
from palette_eval.photos import centre_square
from palette_eval.speed import GNU_TIME, centre_hole
from palette_eval.torch_sampler import inpaint_ddim, load_ema_unet

from palette_training.config import TrainConfig
from palette_training.export import export
from palette_training.fixture import draw_synthetic_photo
from palette_training.train import train


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(checkpoint, model folder) of a tiny model trained for 2 steps, one thread (the CI box has 2 cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("speed")
    photos = root / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        draw_synthetic_photo(rng, size=48).save(photos / f"photo-{i}.png")
    checkpoint = train(TrainConfig(preset="tiny", data=str(photos), out=str(root / "run"), resolution=16, batch_size=2,
                                   steps=2, warmup_steps=1, lr=1e-3, seed=0, log_every=1, sample_every=10**9,
                                   ckpt_every=10**9, sample_steps=2, device="cpu", num_workers=0))
    export(checkpoint, root / "speed-tiny", name="speed-tiny", version="0.0.0", fp16_weights=False)
    yield checkpoint, root / "speed-tiny"
    torch.set_num_threads(threads)


def test_torch_sampler_keeps_known_pixels_and_is_seeded(tiny_export: tuple[Path, Path]) -> None:
    net, meta = load_ema_unet(tiny_export[0])
    assert meta["step"] == 2
    image = centre_square(draw_synthetic_photo(np.random.default_rng(1), size=48), 16)
    hole = centre_hole(16, 16, 0.5)
    gamma_range = (4.3859782361332086e-05, 1.0)
    a = inpaint_ddim(net, image, hole, variants=2, steps=3, gamma_range=gamma_range, seed=5)
    b = inpaint_ddim(net, image, hole, variants=2, steps=3, gamma_range=gamma_range, seed=5)
    assert a.shape == (2, 16, 16, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.array_equal(a[:, ~hole], np.broadcast_to(image[~hole], a[:, ~hole].shape))


def test_speed_comparison_smoke(tiny_export: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, model = tiny_export
    assert main(["speed", "--model", str(model), "--checkpoint", str(checkpoint), "--photos", str(tmp_path / "none"),
                 "--steps", "2", "--variants", "2", "--reps", "2", "--threads", "1", "--bench-reps", "1",
                 "--big-size", "320x240", "--out-root", str(tmp_path / "runs")]) == 0
    torch.set_num_threads(1)  # speed sets --threads for the process; keep the fixture's setting
    run = next((tmp_path / "runs").iterdir())
    assert run.name.endswith("-speed-speed-tiny-ddim-2")
    s = json.loads((run / "speed.json").read_text())
    side = s["side_by_side"]
    assert len(side["daemon_ms"]) == len(side["torch_ms"]) == 2 and side["ratio_daemon_over_torch"] > 0
    for kind in ("cold", "warm"):
        t = s["first_preview"][kind]
        assert 0 < t["firstProgressMs"] <= t["firstPreviewMs"] <= t["totalMs"]
    assert "per-step overhead of the loop" in s["daemon_bench"]
    report = (run / "speed.md").read_text()
    assert "Daemon / PyTorch" in report
    if os.environ.get("CI") or os.environ.get("PALETTE_REQUIRE_GNU_TIME"):
        assert Path(GNU_TIME).exists(), f"peak memory needs GNU time at {GNU_TIME} (apt-get install time)"
    if Path(GNU_TIME).exists():
        assert s["peak_memory"]["big"]["max_rss_mib"] > 20 and "Maximum resident set size" in report
