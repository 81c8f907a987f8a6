"""The loss curve of a training run (for model cards): total and per-task loss against samples seen."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on training machines
import matplotlib.pyplot as plt  # noqa: E402

from .config import TASKS  # noqa: E402


def read_records(loss_log: Path) -> list[dict]:
    """The log's records in step order; when a run was restarted from an older checkpoint, the steps
    it logged after that checkpoint were lost with it, so the last record of a step wins."""
    by_step: dict[int, dict] = {}
    for line in loss_log.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            by_step = {s: r for s, r in by_step.items() if s < record["step"]}
            by_step[record["step"]] = record
    return [by_step[s] for s in sorted(by_step)]


def plot_loss(loss_log: Path, out: Path, smooth: int = 10, marks: dict[int, str] | None = None,
              ylabel: str = "ε loss (L2, hole pixels), smoothed") -> None:
    """`marks` draws a labelled vertical line at a step (e.g. where the training objective changed)."""
    records = read_records(loss_log)
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
    for step, label in (marks or {}).items():
        at = next((r["samples_seen"] for r in records if r["step"] >= step), seen[-1])
        ax.axvline(at, color="grey", linestyle="--", linewidth=1)
        ax.annotate(label, (at, 0.98), xycoords=("data", "axes fraction"), ha="right", va="top", rotation=90,
                    fontsize=8, color="dimgrey")
    ax.set_xlabel("training samples seen")
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def plot_stints(stints_log: Path, out: Path, ylabel: str = "v loss (L2, hole pixels), mean per 100 steps") -> int:
    """The background run's loss across stints and machines, from the committed stint log (each stint's
    run folder is gone once its session ends; `background` keeps 100-step means in the log). One colour
    per stint, a dashed line where a stint began; returns the number of stints drawn."""
    stints = [json.loads(line) for line in stints_log.read_text().splitlines() if line.strip()]
    drawn = [s for s in stints if s.get("loss")]
    if not drawn:
        raise ValueError(f"{stints_log} has no stint with loss windows")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for s in drawn:
        seen = [w[1] for w in s["loss"]]
        ax.plot(seen, [w[2] for w in s["loss"]], linewidth=1.5,
                label=f"steps {s['from_step']:,}–{s['until_step']:,} ({s.get('hardware', '?')})")
        ax.axvline(s["from_samples"], color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("training samples seen")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return len(drawn)
