"""A fingerprint of what an exported network computes, kept in model.json as `weights_probe`.

A daemon whose network runs on an inference server (`--executor kserve`) has only the local
model.json to go by; the server's metadata names inputs and shapes, not weights. So the export runs
one fixed, formula-made input through the graph and keeps every 16th value of ε̂; at start the
daemon sends the same input to the server and compares (daemon/weights-probe.ts builds it the same
way). A server serving an older export under the same name answers differently by far more than the
float noise of another device.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PROBE_BATCH = 2
PROBE_GAMMA = (0.25, 0.75)
PROBE_STRIDE = 16
PROBE_SIDE = 16


def probe_side(size_multiple: int) -> int:
    """16 px, or the smallest multiple of the graph's size multiple above it."""
    return -(-PROBE_SIDE // size_multiple) * size_multiple


def probe_inputs(side: int) -> dict[str, np.ndarray]:
    """cond = 0.9·sin(0.37 i + 0.5), y_t = 1.2·cos(0.11 i) over the flat index i, in float64 then float32."""
    i = np.arange(PROBE_BATCH * 3 * side * side, dtype=np.float64)
    shape = (PROBE_BATCH, 3, side, side)
    return {"cond": (0.9 * np.sin(0.37 * i + 0.5)).astype(np.float32).reshape(shape),
            "y_t": (1.2 * np.cos(0.11 * i)).astype(np.float32).reshape(shape),
            "gamma": np.array(PROBE_GAMMA, dtype=np.float32)}


def weights_probe(onnx_path: Path, size_multiple: int) -> dict:
    import onnxruntime as ort

    side = probe_side(size_multiple)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    eps = session.run(["eps"], probe_inputs(side))[0].reshape(-1)[::PROBE_STRIDE]
    return {"side": side, "batch": PROBE_BATCH, "gamma": list(PROBE_GAMMA), "stride": PROBE_STRIDE,
            "eps": [float(f"{v:.7g}") for v in eps]}
