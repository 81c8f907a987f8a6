"""models/training/device/train-on-device.sh end to end on the CPU (DEVICE=cpu, the tiny preset).

Two runs as two lent-machine sessions would make them: the first from scratch, its pieces joined here
into a checkpoints folder; the second finds those weights by itself and carries on from their step.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from palette_training.bundle import build_bundle
from palette_training.config import unet_config_from_dict
from palette_training.pieces import join_pieces
from palette_training.unet import PaletteUNet

from training_helpers import synthetic_photos

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "models" / "training" / "device" / "train-on-device.sh"
MIB = 1 << 20


def run_script(tmp: Path, out: Path, **knobs: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEVICE": "cpu", "PRESET": "tiny", "RESOLUTION": "16", "BATCH": "2", "MINUTES": "5",
           "NUM_WORKERS": "0", "SAMPLE_STEPS": "2", "LOG_EVERY": "1", "WARMUP": "2", "PYTHON": sys.executable,
           "BUNDLE": str(tmp / "photos.tar"), "WORK": str(tmp / "work"), "OUT": str(out),
           "CHECKPOINTS": str(tmp / "checkpoints"), **knobs}
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)


def test_device_script_round_trip_on_cpu(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    synthetic_photos(photos / "train" / "pkg", 3)
    synthetic_photos(photos / "val" / "pkg", 1, seed=1)
    build_bundle(photos, tmp_path / "photos.tar", short_side=48)

    # 0.2 MiB pieces: the tiny network's ~0.6 MB of fp16 weights travel as several, like `base` does at 15 MiB.
    first = run_script(tmp_path, tmp_path / "out1", STEPS="3", PIECE_MIB="0.2")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    files = sorted(p for p in (tmp_path / "out1").iterdir())
    assert len(files) <= 8 and all(p.is_file() and p.stat().st_size <= 16 * MIB for p in files)
    names = {p.name for p in files}
    assert {"tiny-r16-step3.pt.part-000", "tiny-r16-step3.pt.part-001", "tiny-r16-step3.pt.sha256",
            "step-0000003.png", "loss.jsonl", "train-on-device.log"} <= names
    log = (tmp_path / "out1" / "train-on-device.log").read_text()
    assert "init from: (scratch)" in log and "done in" in log  # the log under $OUT has the whole run

    weights = join_pieces(tmp_path / "out1" / "tiny-r16-step3.pt.part-000", tmp_path / "checkpoints" / "tiny.pt")
    packed = torch.load(weights, weights_only=True)
    assert packed["step"] == 3 and packed["hardware"].endswith("threads")
    PaletteUNet(unet_config_from_dict(packed["unet"])).load_state_dict(packed["ema"])  # they load

    # INIT_FROM left unset: the script picks the joined weights from CHECKPOINTS and goes on from step 3.
    second = run_script(tmp_path, tmp_path / "out2", STEPS="5")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert f"init from: {weights}" in second.stdout
    assert {p.name for p in (tmp_path / "out2").iterdir()} >= {"tiny-r16-step5.pt.part-000", "tiny-r16-step5.pt.sha256"}
    steps = [json.loads(line)["step"] for line in (tmp_path / "out2" / "loss.jsonl").read_text().splitlines()]
    assert steps == [4, 5]
