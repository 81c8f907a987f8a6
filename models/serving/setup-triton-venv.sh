#!/usr/bin/env bash
# Creates models/serving/.venv-triton: a Triton Inference Server (the nvidia-pytriton wheel, which bundles
# tritonserver and its Python backend) plus onnxruntime, for the daemon's test through --executor kserve.
# Idempotent: it does nothing when the venv already matches requirements.txt.
#
# It must be Debian's /usr/bin/python3: the wheel's Python-backend stub is built against that stdlib, and
# with another 3.11 (pyenv's 3.11.7 on PATH) the stub dies on '_thread.RLock' has no '_recursion_count'.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-triton"
python="${PALETTE_TRITON_PYTHON:-/usr/bin/python3}"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ -f "$venv/.requirements.sha256" ] && [ "$(cat "$venv/.requirements.sha256")" = "$want" ]; then
  exit 0
fi
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  echo "setup-triton-venv: $python lacks venv/ensurepip; installing python3-venv" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
fi
echo "setup-triton-venv: creating $venv with $("$python" --version) (nvidia-pytriton, onnxruntime)"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
echo "$want" > "$venv/.requirements.sha256"
