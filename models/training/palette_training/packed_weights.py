"""Weights-only checkpoints small enough to keep in the repository (models/checkpoints/<name>.pt).

A training checkpoint carries the raw weights, the EMA and AdamW's two moments: four copies of the
network in fp32. A packed file keeps the EMA (what one samples with) and the raw weights (what the
optimizer was moving: continuing from them, not from the smoothed EMA, keeps the EMA's lag as it
was), both as fp16, plus the counters and configs that the model card needs, so the next stint (the
background run here, a lent GPU) starts where the last one stopped and its totals still add up.
AdamW's moments are dropped (they would double the file); the next stint re-warms its learning rate.
`export` reads a packed file as it reads a checkpoint (same keys; fp16 weights load into the fp32 net).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .config import PRESETS, UNetConfig, to_dict, unet_config_from_dict
from .unet import PaletteUNet

PACKED_FORMAT = "palette-packed-weights/1"
# Copied as they are from the training checkpoint: what export and the model card read.
CARRIED_KEYS = ("step", "samples_seen", "wall_s", "unet", "train", "schedule", "world", "hardware", "history",
                "run_id", "precision")
# What the last layer predicts (ε or v) is not part of a preset's shape: it travels with the file like
# the rest of the network, so a `small` v-prediction file seeds a `--preset small` run (as v).
NOT_PRESET_FIELDS = {"prediction"}


class InitFromError(ValueError):
    """--init-from names a file that cannot seed this run (another network, or already past --steps)."""


def pack_weights(checkpoint_path: Path, out: Path, ema_only: bool = False) -> dict:
    """`ema_only`: leave the raw weights out (half the file: a lent GPU's return trip is 8 × 16 MiB)."""
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    if checkpoint.get("format") == PACKED_FORMAT:
        raise ValueError(f"{checkpoint_path} is already packed")
    model = PaletteUNet(unet_config_from_dict(checkpoint["unet"]))
    parameter_names = {name for name, _ in model.named_parameters()}
    # Parameters to fp16 (halves the file; export stores fp16 anyway); any buffer stays as trained.
    def to_fp16(weights: dict) -> dict:
        return {name: (t.half() if name in parameter_names and t.is_floating_point() else t.clone())
                for name, t in weights.items()}

    packed = {"format": PACKED_FORMAT, "ema": to_fp16(checkpoint["ema"]), "ema_dtype": "float16",
              **{k: checkpoint[k] for k in CARRIED_KEYS if k in checkpoint}}
    if "model" in checkpoint and not ema_only:
        packed["model"] = to_fp16(checkpoint["model"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save(packed, tmp)
    os.replace(tmp, out)
    return packed


def is_preset(unet: UNetConfig, preset: str) -> bool:
    def shape(cfg: UNetConfig) -> dict:
        return {k: v for k, v in to_dict(cfg).items() if k not in NOT_PRESET_FIELDS}

    return shape(unet) == shape(PRESETS[preset])


def preset_name(unet: UNetConfig) -> str:
    return next((name for name in PRESETS if is_preset(unet, name)), "custom")


def load_init_weights(path: Path, preset: str, steps: int) -> dict:
    """Read a packed file for `train --init-from`: its network must be the --preset one, its step below --steps."""
    packed = torch.load(path, map_location="cpu", weights_only=True)
    if "ema" not in packed or "unet" not in packed:
        raise InitFromError(f"--init-from {path}: not a packed weights file or checkpoint (no 'ema'/'unet')")
    unet = unet_config_from_dict(packed["unet"])
    if not is_preset(unet, preset):
        raise InitFromError(f"--init-from {path} holds a '{preset_name(unet)}' network, but --preset is "
                            f"'{preset}': pass --preset {preset_name(unet)} (the network comes from the file)")
    if packed["step"] >= steps:
        raise InitFromError(f"--init-from {path} is already at step {packed['step']}, not below --steps {steps}; "
                            "--steps counts from the start of the first run, so raise it")
    for key in ("ema", "model"):
        if key in packed:
            packed[key] = {k: (v.float() if v.is_floating_point() else v) for k, v in packed[key].items()}
    return packed


def earlier_segments(packed: dict) -> list[dict]:
    """The file's own history plus the run that produced it: where each stretch of training ran."""
    last = {"until_step": packed["step"], "samples_seen": packed["samples_seen"], "wall_s": packed["wall_s"],
            "hardware": packed.get("hardware", "unknown"), "world": packed.get("world", 1),
            "run_id": packed.get("run_id", "")}
    return [*packed.get("history", []), last]


def newest_packed_weights(folder: Path, preset: str) -> Path | None:
    """The most trained file (highest step) in folder holding the preset's network; None when there is none.

    Steps, not file times: a git checkout or a copy to another machine does not keep modification times.
    """
    best: tuple[int, str, Path] | None = None
    for path in sorted(folder.glob("*.pt")) if folder.is_dir() else []:
        packed = torch.load(path, map_location="cpu", weights_only=True)
        if "unet" in packed and is_preset(unet_config_from_dict(packed["unet"]), preset):
            key = (int(packed["step"]), path.name, path)
            best = key if best is None or key[:2] > best[:2] else best
    return best[2] if best else None
