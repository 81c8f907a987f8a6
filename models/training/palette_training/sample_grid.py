"""Sample grids written while training: for every task, rows of  source x | sample | original y."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .corruptions import from_model_range
from .diffusion import TrainingSchedule
from .sampling import ddim_sample, respaced_gammas


@torch.no_grad()
def sample_examples(model: torch.nn.Module, examples: list[dict[str, np.ndarray]], schedule: TrainingSchedule,
                    steps: int, device: torch.device, seed: int = 0) -> torch.Tensor:
    """DDIM samples for a list of examples (one batch), returned on the CPU in [-1, 1]."""
    cond = torch.from_numpy(np.stack([e["cond"] for e in examples])).to(device)
    y = torch.from_numpy(np.stack([e["y"] for e in examples])).to(device)
    hole = torch.from_numpy(np.stack([e["hole"] for e in examples])).to(device)
    was_training = model.training
    model.eval()
    lo, hi = schedule.gamma_range()
    generator = torch.Generator().manual_seed(seed)

    def denoise(y_t: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        return model(cond, y_t.to(device), gamma.to(device)).float().cpu()

    out = ddim_sample(denoise, y.cpu(), 1 - hole.cpu(), respaced_gammas(lo, hi, steps), generator)
    model.train(was_training)
    return out


def write_sample_grid(model: torch.nn.Module, examples: list[dict[str, np.ndarray]], schedule: TrainingSchedule,
                      steps: int, path: Path, device: torch.device, per_row: int = 4) -> None:
    """One row per task (the examples come grouped by task), `per_row` triplets side by side."""
    samples = sample_examples(model, examples, schedule, steps, device).numpy()
    triplets = [np.concatenate([from_model_range(t) for t in (e["cond"].clip(-1, 1), s, e["y"])], axis=1)
                for e, s in zip(examples, samples, strict=True)]
    # A short last row is padded with black triplets, so any number of examples makes a rectangle.
    blank = np.zeros_like(triplets[0])
    rows = [np.concatenate(triplets[i : i + per_row] + [blank] * (per_row - len(triplets[i : i + per_row])), axis=1)
            for i in range(0, len(triplets), per_row)]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)
