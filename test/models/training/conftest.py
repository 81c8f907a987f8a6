"""Make `palette_training` importable from the tests without installing it."""

import sys
from pathlib import Path

_TRAINING_DIR = Path(__file__).resolve().parents[3] / "models" / "training"
if str(_TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(_TRAINING_DIR))
