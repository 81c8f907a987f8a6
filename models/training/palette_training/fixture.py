"""The tiny seeded model in test/fixtures/: real weights in the real format, small enough to commit.

It is trained for a few steps on procedurally drawn images (no photo set needed), so the daemon's tests
exercise a genuine exported network. Its samples are not meant to look like anything.
Regenerate with `npm run fixture`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
from PIL import Image, ImageDraw

from .config import TrainConfig
from .export import export
from .train import train

FIXTURE_SEED = 0


def draw_synthetic_photo(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A smooth colour gradient with a few soft shapes and sensor-like noise."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([rng.uniform(0.2, 0.8) + rng.uniform(-0.3, 0.3) * (xx if c % 2 else yy) for c in range(3)], -1)
    image = Image.fromarray((base.clip(0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 5))):
        x0, y0 = rng.integers(0, size - 20, 2)
        w, h = rng.integers(10, 40, 2)
        draw.ellipse([int(x0), int(y0), int(x0 + w), int(y0 + h)], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 4, (size, size, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def write_wrong_signature_model(path: Path) -> None:
    """A valid ONNX graph (Identity x → y) that is not a Palette model: the daemon must refuse it."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "not-palette", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # onnx 1.23 writes IR 14 by default; onnxruntime-node 1.30 reads up to 13
    onnx.save(model, str(path))


def make_fixture(out: Path, steps: int = 30) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        rng = np.random.default_rng(FIXTURE_SEED)
        for i in range(12):
            draw_synthetic_photo(rng).save(photos / f"synthetic-{i:02d}.png")
        cfg = TrainConfig(preset="tiny", data=str(photos), out=str(Path(tmp) / "run"), resolution=32, batch_size=8,
                          steps=steps, warmup_steps=10, lr=1e-3, seed=FIXTURE_SEED, log_every=10,
                          sample_every=10**9, ckpt_every=10**9, sample_steps=4, device="cpu")
        checkpoint = train(cfg)
        write_wrong_signature_model(out.parent / "not-palette.onnx")
        return export(checkpoint, out, name="tiny-fixture", version="0.0.0", fp16_weights=False,
                      notes=f"Test fixture: preset tiny, {steps} steps on 12 synthetic images, seed {FIXTURE_SEED}. "
                            "Not a useful model; it exists so tests run a real exported network.")
