#!/usr/bin/env bash
# Install slimcompat (CPU TensorFlow) and run the main job on the embedded example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
exec "${PYTHON:-python3}" -m slimcompat demo "$@"
