"""Make `palette_eval` and `palette_training` importable from the tests without installing them."""

import sys
from pathlib import Path

_MODELS_DIR = Path(__file__).resolve().parents[3] / "models"
for _package_dir in (_MODELS_DIR / "training", _MODELS_DIR / "evaluation"):
    if str(_package_dir) not in sys.path:
        sys.path.insert(0, str(_package_dir))
