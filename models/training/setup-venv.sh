#!/usr/bin/env bash
# Creates models/training/.venv with the training pipeline's dependencies (run by `npm install`).
# Idempotent: it does nothing when the venv already matches requirements.txt.
# PALETTE_SKIP_PYTHON=1 skips it (for users who only run the daemon and never train or run the Python tests).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
[ "${PALETTE_SKIP_PYTHON:-0}" = "1" ] && { echo "setup-venv: skipped (PALETTE_SKIP_PYTHON=1)"; exit 0; }
python="${PYTHON:-python3}"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ -f "$venv/.requirements.sha256" ] && [ "$(cat "$venv/.requirements.sha256")" = "$want" ]; then
  exit 0
fi
echo "setup-venv: creating $venv (torch==2.13.0 CPU build and the export/test tools)"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
echo "$want" > "$venv/.requirements.sha256"
