"""The pictures of a run: sample grids (Pillow) and metric-against-steps plots (matplotlib, Agg)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MIN_CELL = 96  # small images are enlarged (nearest neighbour) to at least this size in the grids
GAP = 2
LABEL_H = 14

SWEEP_METRICS = (
    ("swd_mean_x1e3", "SWD ×10³ (lower is better)"),
    ("psnr", "PSNR dB (higher: closer to the original)"),
    ("ssim", "SSIM (higher: closer to the original)"),
    ("diversity_ms_ssim", "pairwise MS-SSIM (lower: more diverse)"),
    ("sample_ms_per_input", "palette run sampling time per input, ms"),
)


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> str:
    while text and draw.textlength(text, font=font) > width:
        text = text[:-1]
    return text


def write_grid(columns: list[tuple[str, list[np.ndarray]]], path: Path, title: str) -> None:
    """One row per photo; columns in the given order (input | baselines | variants | original)."""
    rows = len(columns[0][1])
    size = columns[0][1][0].shape[0]
    scale = max(1, math.ceil(MIN_CELL / size))
    cell = size * scale
    width = len(columns) * (cell + GAP) - GAP
    height = LABEL_H * 2 + rows * (cell + GAP)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    draw.text((2, 1), _fit_text(draw, title, font, width - 4), fill=(0, 0, 0), font=font)
    for c, (label, images) in enumerate(columns):
        x = c * (cell + GAP)
        draw.text((x + 2, LABEL_H + 1), _fit_text(draw, label, font, cell - 4), fill=(0, 0, 0), font=font)
        for r, image in enumerate(images):
            tile = Image.fromarray(image).resize((cell, cell), Image.Resampling.NEAREST)
            canvas.paste(tile, (x, 2 * LABEL_H + r * (cell + GAP)))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def write_sweep_plots(summary: dict, run_dir: Path) -> list[str]:
    """sweep-<metric>.png: the metric against the step count, one panel per case, one line per sampler;
    baselines as dashed horizontal lines. Returns the files' paths relative to the run folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(summary["tasks"].items())
    ncols = min(4, len(cases))
    nrows = math.ceil(len(cases) / ncols)
    written = []
    for key, label in SWEEP_METRICS:
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
        for ax, (name, task) in zip(axes.flat, cases, strict=False):
            by_sampler: dict[str, list[tuple[int, float]]] = {}
            for row in task["methods"]:
                if row["kind"] == "palette" and row.get(key) is not None:
                    by_sampler.setdefault(row["sampler"], []).append((row["steps"], row[key]))
            for sampler, points in by_sampler.items():
                points.sort()
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=sampler)
            if key in ("swd_mean_x1e3", "psnr", "ssim"):
                for i, row in enumerate(r for r in task["methods"] if r["kind"] != "palette" and key in r):
                    ax.axhline(row[key], linestyle="--", linewidth=0.8, color=f"C{(i + 3) % 10}",
                               label=row["method"])
            ax.set_xscale("log")
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("steps requested (log scale)", fontsize=7)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=6)
        for ax in list(axes.flat)[len(cases):]:
            ax.axis("off")
        fig.suptitle(f"{summary['model']['folder']}: {label}", fontsize=11)
        fig.tight_layout()
        out = run_dir / f"sweep-{key}.png"
        fig.savefig(out, dpi=100)
        plt.close(fig)
        written.append(out.name)
    return written
