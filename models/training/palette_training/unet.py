"""The Palette U-Net: Dhariwal & Nichol's architecture, conditioned on the continuous noise level γ.

Input: the source image x and the noisy target y_t concatenated on channels (6 channels), and γ.
Output: ε̂, the predicted noise (3 channels). No class conditioning, no mask channel (as the paper).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import UNetConfig, unet_config_from_dict

# 16 float32 values: one AVX-512 vector, two AVX2 ones, four SSE ones.
BATCH_INVARIANT_LANES = 16


def gamma_embedding(gamma: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of the noise level.

    We embed the log signal-to-noise ratio λ = log(γ / (1 − γ)) rather than γ itself: across the
    trained range (γ from 4.5e-5 to ~1) λ spreads the levels evenly, so the network can tell
    γ = 0.999 from γ = 0.99999 (noise std 0.03 vs 0.003), which a raw-γ embedding blurs together.
    The model's input stays γ, as the model contract says.
    """
    half = dim // 2
    # Every transcendental runs on rows of BATCH_INVARIANT_LANES values per sample (γ repeated, then
    # sliced): onnxruntime computes log/sin/cos with SIMD over whole vectors and a scalar loop over
    # the tail, whose last bits differ, so on a [B] tensor a sample's embedding would depend on where
    # it sits in the batch. Full rows of 16 are always whole vectors, so a sample gives the same ε̂
    # alone or merged with other jobs (daemon cross-job batching). Same values as the plain form.
    lanes = BATCH_INVARIANT_LANES * math.ceil(half / BATCH_INVARIANT_LANES)
    g = gamma.float().clamp(1e-7, 1 - 1e-7)[:, None].expand(-1, lanes)
    log_snr = torch.log(g) - torch.log1p(-g)
    # Frequencies from 1 to 1/1000 cover λ ∈ [-10, 16] with a few radians per unit at the top.
    freqs = torch.exp(-math.log(1000.0) * torch.arange(lanes, device=g.device, dtype=torch.float32) / half)
    args = log_snr * freqs[None, :] * 4.0
    return torch.cat([torch.sin(args)[:, :half], torch.cos(args)[:, :half]], dim=1)


def group_norm(channels: int) -> nn.GroupNorm:
    """32 groups as in the paper's network; fewer where the width is not divisible or too narrow."""
    groups = 32
    while groups > 1 and (channels % groups or channels // groups < 2):
        groups //= 2
    return nn.GroupNorm(groups, channels)


def zero_init(module: nn.Module) -> nn.Module:
    """Zero the last layer of a residual branch so every block starts as the identity."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """GroupNorm → SiLU → conv, then scale-shift conditioning: h = norm(h)·(1 + s) + b (BigGAN style)."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float, resample: str = "") -> None:
        super().__init__()
        self.resample = resample  # "", "down" or "up": D&N's resblock_updown changes size inside the block
        self.norm1 = group_norm(in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * out_ch)
        self.norm2 = group_norm(out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_init(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.skip = nn.Identity() if in_ch == out_ch else nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.norm1(x))
        if self.resample:
            h, x = resize(h, self.resample), resize(x, self.resample)
        h = self.conv1(h)
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


def resize(x: torch.Tensor, direction: str) -> torch.Tensor:
    if direction == "down":
        return F.avg_pool2d(x, 2)
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class SelfAttention(nn.Module):
    """Global multi-head self-attention over all positions of a feature map."""

    def __init__(self, channels: int, head_channels: int) -> None:
        super().__init__()
        self.heads = max(1, channels // head_channels)
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = zero_init(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w)
        q, k, v = qkv.permute(1, 0, 2, 4, 3).unbind(0)  # each [B, heads, HW, head_ch]
        out = F.scaled_dot_product_attention(q, k, v)
        out = out.permute(0, 1, 3, 2).reshape(b, c, h, w)
        return x + self.proj(out)


class Upsample(nn.Module):
    """Nearest-neighbour ×2 then a 3×3 conv (no checkerboard artefacts of transposed convs)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(resize(x, "up"))


class Level(nn.Module):
    """One resolution of the encoder or decoder: res blocks, each optionally followed by attention."""

    def __init__(self, blocks: list[ResBlock], attns: list[nn.Module]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.attns = nn.ModuleList(attns)


class PaletteUNet(nn.Module):
    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        ch = cfg.base_channels
        emb_dim = 4 * ch
        self.emb_in = ch
        self.emb_mlp = nn.Sequential(nn.Linear(ch, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.conv_in = nn.Conv2d(cfg.in_channels, ch, 3, padding=1)

        n_levels = len(cfg.channel_mults)
        first_attn_level = n_levels - cfg.attention_levels
        self.attention_at = [lvl >= first_attn_level for lvl in range(n_levels)]

        def attn_or_id(channels: int, lvl: int) -> nn.Module:
            return SelfAttention(channels, cfg.head_channels) if self.attention_at[lvl] else nn.Identity()

        # Encoder: remember the channel count of every skip connection.
        skip_chs = [ch]
        cur = ch
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for lvl, mult in enumerate(cfg.channel_mults):
            out = cfg.base_channels * mult
            blocks, attns = [], []
            for _ in range(cfg.num_res_blocks):
                blocks.append(ResBlock(cur, out, emb_dim, cfg.dropout))
                attns.append(attn_or_id(out, lvl))
                cur = out
                skip_chs.append(cur)
            self.down.append(Level(blocks, attns))
            if lvl < n_levels - 1:
                self.downsample.append(
                    ResBlock(cur, cur, emb_dim, cfg.dropout, "down") if cfg.resblock_updown
                    else nn.Conv2d(cur, cur, 3, stride=2, padding=1)
                )
                skip_chs.append(cur)

        self.mid1 = ResBlock(cur, cur, emb_dim, cfg.dropout)
        self.mid_attn = SelfAttention(cur, cfg.head_channels)
        self.mid2 = ResBlock(cur, cur, emb_dim, cfg.dropout)

        # Decoder: one more block per level than the encoder, each consuming one skip.
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for lvl, mult in reversed(list(enumerate(cfg.channel_mults))):
            out = cfg.base_channels * mult
            blocks, attns = [], []
            for _ in range(cfg.num_res_blocks + 1):
                blocks.append(ResBlock(cur + skip_chs.pop(), out, emb_dim, cfg.dropout))
                attns.append(attn_or_id(out, lvl))
                cur = out
            self.up.append(Level(blocks, attns))
            if lvl > 0:
                self.upsample.append(
                    ResBlock(cur, cur, emb_dim, cfg.dropout, "up") if cfg.resblock_updown
                    else Upsample(cur)
                )
        assert not skip_chs

        self.norm_out = group_norm(cur)
        self.conv_out = zero_init(nn.Conv2d(cur, cfg.out_channels, 3, padding=1))

    @classmethod
    def from_checkpoint(cls, checkpoint: dict, weights: str = "ema") -> PaletteUNet:
        """The network a checkpoint (or packed weights file) describes, with its `ema` (what one samples
        with) or raw `model` weights, in eval mode."""
        if weights not in ("ema", "model"):
            raise ValueError(f"weights must be 'ema' or 'model', not {weights!r}")
        net = cls(unet_config_from_dict(checkpoint["unet"]))
        net.load_state_dict(checkpoint[weights])
        return net.eval()

    def forward(self, cond: torch.Tensor, y_t: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        """ε̂ for (x, y_t, γ), whatever the last layer predicts (see UNetConfig.prediction)."""
        out = self.predict_raw(cond, y_t, gamma)
        if self.cfg.prediction == "eps":
            return out
        g = gamma.float()[:, None, None, None]
        return g.sqrt() * out.float() + (1 - g).sqrt() * y_t.float()

    def predict_raw(self, cond: torch.Tensor, y_t: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        emb = self.emb_mlp(gamma_embedding(gamma, self.emb_in).to(cond.dtype))
        h = self.conv_in(torch.cat([cond, y_t], dim=1))
        skips = [h]
        for lvl, level in enumerate(self.down):
            for block, attn in zip(level.blocks, level.attns, strict=True):
                h = attn(block(h, emb))
                skips.append(h)
            if lvl < len(self.downsample):
                h = self.apply_resample(self.downsample[lvl], h, emb)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for i, level in enumerate(self.up):
            for block, attn in zip(level.blocks, level.attns, strict=True):
                h = attn(block(torch.cat([h, skips.pop()], dim=1), emb))
            if i < len(self.upsample):
                h = self.apply_resample(self.upsample[i], h, emb)
        return self.conv_out(F.silu(self.norm_out(h)))

    @staticmethod
    def apply_resample(module: nn.Module, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return module(h, emb) if isinstance(module, ResBlock) else module(h)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
