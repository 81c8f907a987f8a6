"""The loss curve of a training run (for model cards): total and per-task ε-loss against samples seen."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on training machines
import matplotlib.pyplot as plt  # noqa: E402

from .config import TASKS  # noqa: E402


def plot_loss(loss_log: Path, out: Path, smooth: int = 10) -> None:
    records = [json.loads(line) for line in loss_log.read_text().splitlines() if line.strip()]
    if not records:
        raise ValueError(f"{loss_log} has no records")
    seen = [r["samples_seen"] for r in records]

    def smoothed(values: list[float]) -> list[float]:
        # A trailing mean over `smooth` log windows: the per-window loss is noisy because γ is random.
        return [sum(values[max(0, i - smooth + 1) : i + 1]) / len(values[max(0, i - smooth + 1) : i + 1])
                for i in range(len(values))]

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(seen, smoothed([r["loss"] for r in records]), label="all tasks", color="black", linewidth=2)
    for task in TASKS:
        points = [(r["samples_seen"], r["loss_per_task"][task]) for r in records if task in r.get("loss_per_task", {})]
        if points:
            ax.plot([p[0] for p in points], smoothed([p[1] for p in points]), label=task, linewidth=1)
    ax.set_xlabel("training samples seen")
    ax.set_ylabel("ε loss (L2, hole pixels), smoothed")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
