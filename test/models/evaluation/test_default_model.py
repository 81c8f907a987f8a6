"""The evaluation's default model is the product's (daemon/model-manifest.ts DEFAULT_MODEL)."""

import re
from pathlib import Path

from palette_eval.cli import DEFAULT_MODEL

REPO = Path(__file__).resolve().parents[3]


def test_eval_and_daemon_default_to_the_same_model() -> None:
    source = (REPO / "daemon" / "model-manifest.ts").read_text()
    match = re.search(r"export const DEFAULT_MODEL = '([^']+)'", source)
    assert match, "DEFAULT_MODEL not found in daemon/model-manifest.ts"
    assert DEFAULT_MODEL == match.group(1)
    assert (REPO / "models" / DEFAULT_MODEL / "model.json").is_file()
