"""Palette's evaluation: sample quality of the product (`palette run`) and its speed, offline.

    photos.py      the evaluation photos: sorted, centre squares at the model's native size
    cases.py       the paper's evaluation tasks: inputs, masks, uncrop extensions
    product.py     `palette run` as a subprocess: the only way samples are made
    baselines.py   OpenCV Telea / Navier–Stokes, reflect / edge padding, the input itself
    regression.py  the paper's regression baseline slot (a checkpoint that predicts ŷ directly)
    metrics.py     PSNR, SSIM, MS-SSIM, Laplacian-pyramid SWD, colourfulness (numpy + scipy)
    evaluate.py    `run`: cases × sampler configurations → metrics.json, report.md, grids, plots
    report.py      report.md
    figures.py     sample grids and metric-against-steps plots
    torch_sampler.py  PyTorch eager DDIM with a checkpoint's EMA weights (for the speed comparison)
    speed.py       `speed`: the daemon against PyTorch eager, time to first preview, peak memory
    cli.py         `python -m palette_eval run|speed --help`

It uses the training package (masks, corruptions, the U-Net); when `palette_training` is not
importable (PYTHONPATH not set), models/training is put on sys.path.
"""

import sys
from importlib.util import find_spec
from pathlib import Path

if find_spec("palette_training") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
