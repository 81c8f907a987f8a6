"""Re-export a shipped model's ONNX graph from its own weights, with today's graph code.

`python -m palette_training reexport --model ../palette-small-v5` rebuilds the network from the
model.json architecture, loads the weights the ONNX file holds (its training checkpoint is long gone:
the background run overwrites one file), exports it again and checks the new graph against the old
on random inputs before replacing it. What it is for: graphs exported before the γ embedding became
batch-invariant (unet.gamma_embedding) give a sample an ε̂ that depends, in the last bits, on where
it sits in a batch; re-exported, a sample gives the same ε̂ alone or merged with other jobs.

The old graph names some weights after the exporter's nodes (GroupNorm's scale and shift become
`onnx::Mul_N` / `onnx::Add_N`), so the names are learnt by exporting the same architecture with the
old embedding (or today's, for a graph already re-exported) and a distinct random value in every
weight, and matching values. It also writes model.json's `weights_probe` (weights_probe.py).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from . import unet
from .config import unet_config_from_dict
from .export import MANIFEST_FILE, MODEL_FILE, export_graph, store_weights_as_fp16
from .pieces import sha256_of
from .weights_probe import weights_probe

# The largest |new − old| / max |old| accepted: the two graphs compute the same function, the new one
# in SIMD lanes throughout, so they differ in the last float bits only.
MAX_RELATIVE_CHANGE = 1e-5


def legacy_gamma_embedding(gamma: torch.Tensor, dim: int) -> torch.Tensor:
    """The γ embedding as exported up to palette-small-v5: log/sin/cos on [B] and [B, dim/2] tensors."""
    g = gamma.float().clamp(1e-7, 1 - 1e-7)
    log_snr = torch.log(g) - torch.log1p(-g)
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=g.device, dtype=torch.float32) / half)
    args = log_snr[:, None] * freqs[None, :] * 4.0
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


def read_weights(path: Path) -> dict[str, np.ndarray]:
    """Initializers by their fp32 name (fp16 storage undone: fp16 → fp32 is exact)."""
    out = {}
    for init in onnx.load(str(path)).graph.initializer:
        out[init.name.removesuffix("__fp16")] = numpy_helper.to_array(init).astype(np.float32)
    return out


def initializer_names(net: unet.PaletteUNet, resolution: int, workdir: Path,
                      embedding) -> dict[str, tuple[str, torch.Size]]:
    """ONNX initializer name → (state_dict key, shape) for a graph exported with `embedding`."""
    generator = torch.Generator().manual_seed(0)
    probe = unet.PaletteUNet(net.cfg)
    with torch.no_grad():
        for p in probe.parameters():
            p.copy_(torch.rand(p.shape, generator=generator) + 0.5)  # distinct, and never a folded 0 or 1
    path = workdir / "legacy.onnx"
    current = unet.gamma_embedding
    unet.gamma_embedding = embedding
    try:
        export_graph(probe, path, resolution)
    finally:
        unet.gamma_embedding = current
    by_fingerprint = {}
    for key, value in probe.state_dict().items():
        by_fingerprint.setdefault((value.numel(), round(float(value.flatten()[0]), 6)), []).append(key)
    names = {}
    for name, array in read_weights(path).items():
        candidates = by_fingerprint.get((array.size, round(float(array.flatten()[0]), 6)), []) if array.size else []
        state = probe.state_dict()
        match = [k for k in candidates if np.array_equal(state[k].numpy().reshape(-1), array.reshape(-1))]
        if len(match) == 1:
            names[name] = (match[0], state[match[0]].shape)
    missing = set(probe.state_dict()) - {k for k, _ in names.values()}
    if missing:
        raise RuntimeError(f"no initializer of the legacy export holds {sorted(missing)[:5]}")
    return names


def max_relative_change(old: Path, new: Path, sizes: tuple[int, ...], seed: int = 0) -> float:
    import onnxruntime as ort

    sessions = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (old, new)]
    rng = np.random.default_rng(seed)
    worst = 0.0
    for size in sizes:
        for batch in (1, 3, 5):
            feed = {"cond": rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32),
                    "y_t": rng.standard_normal((batch, 3, size, size)).astype(np.float32),
                    "gamma": rng.uniform(1e-4, 0.9999, batch).astype(np.float32)}
            a, b = (s.run(["eps"], feed)[0] for s in sessions)
            worst = max(worst, float(np.abs(b - a).max() / max(np.abs(a).max(), 1e-12)))
    return worst


def reexport(model_dir: Path) -> dict:
    manifest_path = model_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    old_path = model_dir / manifest["file"]
    if sha256_of(old_path) != manifest["sha256"]:
        raise RuntimeError(f"{old_path} does not match model.json's sha256")
    arch = {k: v for k, v in manifest["architecture"].items() if k != "kind"}
    net = unet.PaletteUNet(unet_config_from_dict(arch))
    resolution = manifest["native_resolution"]
    weights = read_weights(old_path)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        # An old graph (legacy embedding), or one exported since (re-exported to add what is new).
        for embedding in (legacy_gamma_embedding, unet.gamma_embedding):
            names = initializer_names(net, resolution, workdir, embedding)
            absent = [n for n in names if n not in weights]
            if not absent:
                break
        else:
            raise RuntimeError(f"{old_path} was not exported from this architecture (no {absent[:3]})")
        state = {key: torch.from_numpy(weights[name]).reshape(shape) for name, (key, shape) in names.items()}
        net.load_state_dict(state)
        net.eval()
        new_path = workdir / MODEL_FILE
        export_graph(net, new_path, resolution)
        if manifest["weights"]["storage"] == "fp16":
            store_weights_as_fp16(new_path)
        m = manifest["size_multiple"]
        change = max_relative_change(old_path, new_path, (resolution, resolution + 2 * m))
        if change >= MAX_RELATIVE_CHANGE:
            raise RuntimeError(f"the re-exported graph differs from the old one: {change:.2e} ≥ {MAX_RELATIVE_CHANGE}")
        new_path.replace(old_path)
    manifest["sha256"] = sha256_of(old_path)
    manifest["file_bytes"] = old_path.stat().st_size
    manifest["batch_invariant"] = True
    manifest["weights_probe"] = weights_probe(old_path, manifest["size_multiple"])
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return {"model": manifest["name"], "max_relative_change": change, "sha256": manifest["sha256"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="palette_training reexport", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, action="append", required=True, help="a model folder (repeatable)")
    args = p.parse_args(argv)
    for folder in args.model:
        result = reexport(folder)
        change = result["max_relative_change"]
        print(f"{result['model']}: re-exported, batch-invariant; max relative change {change:.2e}")
    return 0
