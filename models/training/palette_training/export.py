"""Export a checkpoint's EMA weights to ONNX with its manifest (model.json), then verify it.

The exported graph follows models/README.md: inputs cond, y_t [B,3,H,W] and gamma [B]; output eps.
Weights may be stored as fp16 initializers (halving the file) with a Cast to fp32 in front of each, so
inference stays fp32. The verification compares onnxruntime with PyTorch running the same (fp16-rounded)
weights at two sizes and two batch sizes.
"""

from __future__ import annotations

import json
import platform
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .config import TASKS
from .pieces import sha256_of
from .unet import PaletteUNet, count_parameters
from .weights_probe import weights_probe

MODEL_FILE = "model.onnx"
MANIFEST_FILE = "model.json"
MAX_RELATIVE_ERROR = 1e-4
OPSET = 17


def load_ema_model(checkpoint: dict, fp16_weights: bool) -> PaletteUNet:
    """The EMA weights (sampling with the raw weights is a known pitfall), optionally rounded to fp16."""
    model = PaletteUNet.from_checkpoint(checkpoint, "ema")
    if fp16_weights:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    return model


def export_graph(model: PaletteUNet, path: Path, resolution: int) -> None:
    dims = {0: "batch", 2: "height", 3: "width"}
    image = torch.zeros(1, 3, resolution, resolution)
    example = (image, image.clone(), torch.full((1,), 0.5))
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of dynamo, which does not yet export a
        # graph whose H and W stay dynamic through the attention reshapes; it still works in 2.13.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, example, str(path), input_names=["cond", "y_t", "gamma"], output_names=["eps"],
            dynamic_axes={"cond": dims, "y_t": dims, "gamma": {0: "batch"}, "eps": dims},
            opset_version=OPSET, dynamo=False, do_constant_folding=True,
        )


def store_weights_as_fp16(path: Path, min_elements: int = 16) -> None:
    """Replace each fp32 initializer by an fp16 one followed by a Cast back to fp32."""
    graph_model = onnx.load(str(path))
    graph = graph_model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        array = numpy_helper.to_array(init)
        if array.size < min_elements:
            continue  # tiny constants (shapes, scalars) stay fp32; halving them saves nothing
        fp32_name = init.name
        fp16_name = fp32_name + "__fp16"
        init.CopyFrom(numpy_helper.from_array(array.astype(np.float16), fp16_name))
        casts.append(helper.make_node("Cast", [fp16_name], [fp32_name], to=TensorProto.FLOAT))
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, str(path))


def verify_against_pytorch(model: PaletteUNet, path: Path, sizes: list[tuple[int, int]], batches: tuple[int, int],
                           seed: int = 0) -> dict:
    """Max |ort − torch| / max |torch| over random inputs; must stay below MAX_RELATIVE_ERROR."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    results = []
    for height, width in sizes:
        for batch in batches:
            cond = rng.uniform(-1, 1, (batch, 3, height, width)).astype(np.float32)
            y_t = rng.standard_normal((batch, 3, height, width)).astype(np.float32)
            gamma = rng.uniform(1e-4, 0.9999, batch).astype(np.float32)
            got = session.run(["eps"], {"cond": cond, "y_t": y_t, "gamma": gamma})[0]
            with torch.no_grad():
                want = model(torch.from_numpy(cond), torch.from_numpy(y_t), torch.from_numpy(gamma)).numpy()
            rel = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))
            results.append({"height": height, "width": width, "batch": batch, "max_relative_error": rel})
    worst = max(r["max_relative_error"] for r in results)
    if worst >= MAX_RELATIVE_ERROR:
        raise RuntimeError(f"onnxruntime differs from PyTorch: max relative error {worst:.2e} ≥ {MAX_RELATIVE_ERROR}")
    return {"checks": results, "max_relative_error": worst}



def training_data_summary(photoset_manifest: Path | None, train_dir: str) -> dict:
    """Counts and licences per source package, from the photo set's manifest when there is one."""
    if photoset_manifest is None or not photoset_manifest.exists():
        return {"source": train_dir, "note": "no photo-set manifest given"}
    manifest = json.loads(photoset_manifest.read_text())
    entries = manifest["photos"]
    packages: dict[str, dict] = {}
    for e in entries:
        p = packages.setdefault(e["package"], {"split": e["split"], "photos": 0, "licences": set()})
        p["photos"] += 1
        p["licences"].add(e["licence"])
    return {
        "source": "Debian packages (models/training/palette_training/photoset.py)",
        "train_photos": sum(p["photos"] for p in packages.values() if p["split"] == "train"),
        "validation_photos": sum(p["photos"] for p in packages.values() if p["split"] == "val"),
        "packages": {k: {**v, "licences": sorted(v["licences"])} for k, v in sorted(packages.items())},
    }


def compute_summary(checkpoint: dict) -> dict:
    train = checkpoint["train"]
    hardware = checkpoint.get("hardware") or f"{platform.processor() or platform.machine()} CPU"
    return {"hardware": hardware, "wall_time_hours": round(checkpoint["wall_s"] / 3600, 3),
            "processes": checkpoint.get("world", 1),
            # Recorded by the loop since bf16 also runs on CPUs; older checkpoints used it on CUDA only.
            "precision": checkpoint.get("precision") or ("bf16 autocast" if "cuda" in hardware.lower()
                                                         and train.get("bf16") else "fp32")}


def build_manifest(checkpoint: dict, model: PaletteUNet, model_path: Path, name: str, version: str,
                   verification: dict, photoset_manifest: Path | None, notes: str, metrics: dict) -> dict:
    cfg = model.cfg
    train = checkpoint["train"]
    schedule = checkpoint["schedule"]
    mix = {t: train[f"mix_{t}"] for t in TASKS}
    return {
        "name": name,
        "version": version,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "file": MODEL_FILE,
        "sha256": sha256_of(model_path),
        "file_bytes": model_path.stat().st_size,
        "batch_invariant": True,  # unet.gamma_embedding; tested in test/models/training/test_reexport.py
        "weights_probe": weights_probe(model_path, cfg.size_multiple),
        "weights": {"source": "ema", "storage": "fp16" if verification.get("fp16_weights") else "fp32",
                    "inference": "fp32"},
        "inputs": {"cond": "float32 [B,3,H,W] in [-1,1]", "y_t": "float32 [B,3,H,W]", "gamma": "float32 [B]"},
        "outputs": {"eps": "float32 [B,3,H,W]"},
        "native_resolution": train["resolution"],
        "size_multiple": cfg.size_multiple,
        "tasks": [t for t in TASKS if mix[t] > 0],
        "task_mix": mix,
        "training_schedule": schedule,
        "gamma_range": [schedule["gamma_min"], schedule["gamma_max"]],
        "parameters": count_parameters(model),
        "architecture": {"kind": "palette-unet", **{k: (list(v) if isinstance(v, tuple) else v)
                                                     for k, v in vars(cfg).items()}},
        "training": {"steps": checkpoint["step"], "samples_seen": checkpoint["samples_seen"],
                     "batch_size": train["batch_size"] * checkpoint.get("world", 1), "loss": train["loss"],
                     "lr": train["lr"], "ema_decay": train["ema_decay"],
                     "data": training_data_summary(photoset_manifest, train["data"])},
        "compute": compute_summary(checkpoint),
        "metrics": {"export_check": verification, **metrics},
        "notes": notes,
    }


def export(checkpoint_path: Path, out_dir: Path, name: str, version: str = "0.1.0", fp16_weights: bool = True,
           photoset_manifest: Path | None = None, notes: str = "", metrics: dict | None = None) -> dict:
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    model = load_ema_model(checkpoint, fp16_weights)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    resolution = checkpoint["train"]["resolution"]
    export_graph(model, model_path, resolution)
    if fp16_weights:
        store_weights_as_fp16(model_path)
    # The native size, and a non-square one so H and W are shown to be dynamic independently.
    m = model.cfg.size_multiple
    other = (max(m, round(resolution * 0.75 / m) * m), round(resolution * 1.25 / m) * m)
    verification = verify_against_pytorch(model, model_path, [(resolution, resolution), other], (1, 3))
    verification["fp16_weights"] = fp16_weights
    manifest = build_manifest(checkpoint, model, model_path, name, version, verification, photoset_manifest,
                              notes, metrics or {})
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
