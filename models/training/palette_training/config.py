"""Configuration: the U-Net presets and the training run, as plain dataclasses.

A checkpoint stores both dataclasses as dicts so `export` can rebuild the exact network without flags.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

TaskName = Literal["inpaint", "uncrop", "colorize", "jpeg"]
TASKS: tuple[TaskName, ...] = ("inpaint", "uncrop", "colorize", "jpeg")


@dataclass(frozen=True)
class UNetConfig:
    """The Dhariwal & Nichol U-Net as Palette uses it (6 channels in: x ⊕ y_t; 3 out: ε)."""

    base_channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 4, 8)
    num_res_blocks: int = 2
    # Self-attention at the `attention_levels` lowest resolutions (and always in the middle block).
    # Counting levels instead of listing pixel sizes keeps attention where it was trained when the
    # fully convolutional net runs at another resolution (a known pitfall of comparing sizes with
    # downsample rates).
    attention_levels: int = 3
    head_channels: int = 64
    dropout: float = 0.0
    resblock_updown: bool = False  # D&N: resample inside residual blocks instead of plain convs
    in_channels: int = 6
    out_channels: int = 3
    # What the last layer predicts. The network's output (and the ONNX contract) is always ε; with
    # "v" (Salimans & Ho 2022) the last layer predicts v = √γ·ε − √(1−γ)·y0 and forward() turns it into
    # ε = √γ·v + √(1−γ)·y_t. Why: at the noisiest levels ε ≈ y_t, so an ε-net trained on the ε loss
    # gets almost no signal to use x there — a short training run then ignores x for colorization and
    # JPEG restoration (measured: models/palette-small-v2/README.md); v ≈ −y0 there, so it must use x.
    prediction: Literal["eps", "v"] = "eps"

    @property
    def size_multiple(self) -> int:
        """H and W must be multiples of this (one stride-2 downsample between levels)."""
        return 2 ** (len(self.channel_mults) - 1)


# Presets. Parameter counts are asserted in the tests (test_unet.py).
PRESETS: dict[str, UNetConfig] = {
    # < 1M parameters: the seeded test fixture; trains in seconds, samples noise-like images.
    "tiny": UNetConfig(
        base_channels=16, channel_mults=(1, 2, 2), num_res_blocks=1, attention_levels=2, head_channels=16
    ),
    # What a CPU can train in an hour at 64×64 (~4.9M parameters, ~10 samples/s on 2 cores).
    "small": UNetConfig(
        base_channels=32, channel_mults=(1, 2, 2, 4), num_res_blocks=2, attention_levels=2, head_channels=32
    ),
    # What one GPU trains in hours at 128×128 (~17.8M parameters: 36 MB as an fp16 ONNX file).
    "base": UNetConfig(
        base_channels=64, channel_mults=(1, 2, 3, 3), num_res_blocks=2, attention_levels=2, head_channels=64,
        dropout=0.1,
    ),
    # The paper's 256×256 network: 256 channels, multipliers 1,1,2,2,4,4, 2 res blocks, attention at
    # 32/16/8, 64 channels per head, resampling inside res blocks (≈552.8M parameters).
    "paper": UNetConfig(
        base_channels=256, channel_mults=(1, 1, 2, 2, 4, 4), num_res_blocks=2, attention_levels=3,
        head_channels=64, dropout=0.1, resblock_updown=True,
    ),
}


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Every field is a CLI flag of `python -m palette_training train`."""

    preset: str = "small"
    data: str = "../../data/photos/train"
    out: str = "../../runs/small"
    # A packed weights file (pack-weights) to start from when --out has no checkpoint yet: the network,
    # EMA and counters come from it, AdamW starts fresh with its warm-up. A mismatching --preset is an error.
    init_from: str = ""
    resolution: int = 64
    batch_size: int = 16  # per process
    steps: int = 100_000
    max_minutes: float = 0.0  # stop (with a checkpoint) after this wall time; 0 = no limit
    lr: float = 1e-4
    warmup_steps: int = 1000  # linear warm-up (the paper: 10k at batch 1024)
    # "eps" or "v" overrides the preset's (or the --init-from file's) UNetConfig.prediction for a new
    # run; "" keeps it. A resumed run keeps its own.
    prediction: str = ""
    lr_decay_start: int = 0  # > 0: cosine from lr down to lr_final between this step and `steps`
    lr_final: float = 1e-5
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema_decay: float = 0.9999
    loss: Literal["l2", "l1"] = "l2"
    # Task mix inside every batch (normalised). The generalist model sees all four tasks.
    mix_inpaint: float = 0.4
    mix_uncrop: float = 0.2
    mix_colorize: float = 0.2
    mix_jpeg: float = 0.2
    min_crop_scale: float = 0.35  # random square crops with side in [min_crop_scale, 1] × short side
    # Multi-scale training: "64:0.85,128:0.15" trains that share of steps at each crop size (one size
    # per batch, the batch holding as many pixels as batch_size at `resolution`); "" = `resolution` only.
    scales: str = ""
    # Share of examples cropped at the photo's stored scale (no resize), for fine texture.
    native_crop: float = 0.0
    max_short_side: int = 384  # photos are cached in memory at most this size
    num_workers: int = 0  # DataLoader processes preparing batches ahead of the step (0: in the loop)
    threads: int = 0  # torch intra-op threads of the training process; 0 = torch's default (all cores)
    # On CPUs: every 10 steps, train on the cores the other processes leave free (cpu_share.py).
    share_cores: bool = False
    seed: int = 0
    log_every: int = 20
    sample_every: int = 1000
    ckpt_every: int = 500
    sample_steps: int = 50
    val_data: str = ""  # photos for the periodic sample grids (default: a few training photos)
    device: str = "auto"
    channels_last: bool = True  # on CUDA only
    # bf16 autocast (fp32 master weights, loss in fp32). None: where the device computes bf16 natively
    # (CUDA; CPUs with AVX-512 BF16 or AMX, ~2× faster there), fp32 elsewhere (emulated bf16 is 20-40×
    # slower: precision.py). --bf16 / --no-bf16 force either.
    bf16: bool | None = None
    compile: bool = False

    def task_mix(self) -> dict[str, float]:
        raw = {"inpaint": self.mix_inpaint, "uncrop": self.mix_uncrop,
               "colorize": self.mix_colorize, "jpeg": self.mix_jpeg}
        total = sum(raw.values())
        if total <= 0 or any(v < 0 for v in raw.values()):
            raise ValueError(f"task mix must be non-negative with a positive sum: {raw}")
        return {k: v / total for k, v in raw.items()}


def to_dict(cfg: UNetConfig | TrainConfig) -> dict:
    return dataclasses.asdict(cfg)


def unet_config_from_dict(d: dict) -> UNetConfig:
    d = dict(d)
    d["channel_mults"] = tuple(d["channel_mults"])
    return UNetConfig(**d)


def train_config_from_dict(d: dict) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in d.items() if k in known})

