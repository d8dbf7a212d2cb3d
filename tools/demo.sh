#!/usr/bin/env bash
# Install slimcompat (CPU TensorFlow) and run the main job on the embedded example.
# Python: see tools/python.sh (PYTHON, an active virtual environment, or .venv here).
# Its files stay in ./slimcompat-demo (--workdir DIR to choose).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
source tools/python.sh
exec "$PY" -m slimcompat demo "$@"
