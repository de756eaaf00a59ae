#!/usr/bin/env bash
# Create the virtual environment and install the pinned requirements.
# torch goes first and stays pinned through constraints.txt, so nothing later
# can swap in a CUDA build on a CPU machine. Unsloth is added only on GPU machines.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
export PATH="$PWD/$VENV/bin:$PATH"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

pip install --quiet --upgrade "pip>=25"
# llama-cpp-python compiles llama.cpp from source (about 10 minutes on 2 cores; pip caches the wheel).
for tool in cmake ninja; do
  command -v "$tool" >/dev/null || { echo "setup: $tool not found, installing it from PyPI into $VENV"; pip install --quiet "$tool"; }
done
pip install --quiet "torch==2.13.0" -c constraints.txt
echo "setup: installing requirements (the first run compiles llama-cpp-python: about 10 minutes)"
pip install --quiet -r requirements.txt -c constraints.txt
pip install --quiet --no-deps -r requirements-bundled.txt
# The `tunewright` console script (pyproject.toml): this folder in editable mode, no dependencies (pinned above).
pip install --quiet "setuptools>=70.1"
pip install --quiet --no-deps --no-build-isolation -e .
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: GPU found, installing requirements-gpu.txt (Unsloth)"
  pip install --quiet -r requirements-gpu.txt -c constraints.txt
fi
echo "setup: Python environment ready in $VENV"
