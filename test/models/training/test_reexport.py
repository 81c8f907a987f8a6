"""Batch invariance of the exported graph, and `reexport` of a graph exported before it."""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from palette_training import unet
from palette_training.config import PRESETS
from palette_training.export import export_graph, store_weights_as_fp16
from palette_training.pieces import sha256_of
from palette_training.reexport import legacy_gamma_embedding, reexport

RESOLUTION = 32


def random_inputs(rng: np.random.Generator, batch: int, size: int = RESOLUTION) -> dict:
    return {"cond": rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32),
            "y_t": rng.standard_normal((batch, 3, size, size)).astype(np.float32),
            # spread over the trained range, with the ends
            "gamma": np.concatenate([[4.5e-5, 0.9999], rng.uniform(0, 1, batch - 2)]).astype(np.float32)}


def worst_row_change(path: Path, threads: int) -> float:
    """Max |ε̂ of a sample in a batch − ε̂ of the sample alone| over batches of 2–9 and every row."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = random_inputs(np.random.default_rng(threads), 9)
    alone = [session.run(["eps"], {k: v[j:j + 1] for k, v in feed.items()})[0][0] for j in range(9)]
    worst = 0.0
    for batch in range(2, 10):
        out = session.run(["eps"], {k: v[:batch] for k, v in feed.items()})[0]
        worst = max(worst, max(float(np.abs(out[j] - alone[j]).max()) for j in range(batch)))
    return worst


@pytest.fixture(scope="module")
def legacy_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder as exported before the γ embedding was batch-invariant (fp16 weights)."""
    folder = tmp_path_factory.mktemp("legacy")
    torch.manual_seed(0)
    net = unet.PaletteUNet(PRESETS["tiny"])
    with torch.no_grad():
        for p in net.parameters():  # zero-initialised output layers would hide a weight mix-up
            p.copy_((torch.randn(p.shape) * 0.2).half().float())
    current = unet.gamma_embedding
    unet.gamma_embedding = legacy_gamma_embedding
    try:
        export_graph(net, folder / "model.onnx", RESOLUTION)
    finally:
        unet.gamma_embedding = current
    store_weights_as_fp16(folder / "model.onnx")
    cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(net.cfg).items()}
    manifest = {"name": "legacy", "file": "model.onnx", "sha256": sha256_of(folder / "model.onnx"),
                "file_bytes": (folder / "model.onnx").stat().st_size, "native_resolution": RESOLUTION,
                "size_multiple": net.cfg.size_multiple, "weights": {"storage": "fp16"},
                "architecture": {"kind": "palette-unet", **cfg}}
    (folder / "model.json").write_text(json.dumps(manifest))
    return folder


def test_gamma_embedding_has_the_legacy_values():
    gamma = torch.tensor([4.5e-5, 0.01, 0.3, 0.5, 0.77, 0.9999])
    for dim in (8, 32, 40):
        assert torch.allclose(unet.gamma_embedding(gamma, dim), legacy_gamma_embedding(gamma, dim), atol=1e-6)


def test_reexport_keeps_the_weights_and_makes_the_graph_batch_invariant(legacy_folder: Path, tmp_path: Path):
    old = tmp_path / "old.onnx"
    old.write_bytes((legacy_folder / "model.onnx").read_bytes())
    result = reexport(legacy_folder)
    manifest = json.loads((legacy_folder / "model.json").read_text())
    assert manifest["batch_invariant"] is True
    assert manifest["sha256"] == sha256_of(legacy_folder / "model.onnx") == result["sha256"]
    # the same function: a re-export that lost or mixed up a weight would differ by orders more
    feed = random_inputs(np.random.default_rng(5), 3)
    a, b = (ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(["eps"], feed)[0]
            for p in (old, legacy_folder / "model.onnx"))
    assert np.abs(a).max() > 0.1
    assert float(np.abs(a - b).max() / np.abs(a).max()) < 1e-5
    for threads in (1, 2):
        assert worst_row_change(legacy_folder / "model.onnx", threads) == 0.0


def test_reexport_refuses_a_file_that_does_not_match_its_manifest(legacy_folder: Path):
    manifest = json.loads((legacy_folder / "model.json").read_text())
    (legacy_folder / "model.json").write_text(json.dumps({**manifest, "sha256": "0" * 64}))
    with pytest.raises(RuntimeError, match="sha256"):
        reexport(legacy_folder)
    (legacy_folder / "model.json").write_text(json.dumps(manifest))
