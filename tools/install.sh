#!/usr/bin/env bash
# Install slimcompat and its runtime into the current Python environment.
#   tools/install.sh            CPU TensorFlow (default; the 274 MB tensorflow-cpu wheel)
#   tools/install.sh --gpu      TensorFlow with CUDA libraries (tensorflow[and-cuda])
#   tools/install.sh --test     also what the tests need (pytest; torch==2.13.0 CPU and safetensors: the [torch] extra)
# tf-keras hard-requires the `tensorflow` distribution (572 MB, GPU-capable);
# it is installed with --no-deps against whichever TensorFlow is present so the
# CPU wheel is not shadowed by a second, larger copy.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TF_SPEC='tensorflow-cpu>=2.16,<2.22'
EXTRAS=""
for arg in "$@"; do
  case "$arg" in
    --gpu) TF_SPEC='tensorflow[and-cuda]>=2.16,<2.22' ;;
    --test) EXTRAS="[test,torch]"; TORCH_SPEC='torch==2.13.0' ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
pip_q() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }
if ! "$PY" -c 'import tensorflow' 2>/dev/null; then
  pip_q "$TF_SPEC"
fi
TF_MINOR=$("$PY" -c 'import tensorflow as tf; print(".".join(tf.__version__.split(".")[:2]))' 2>/dev/null)
if ! "$PY" -c 'import tf_keras' 2>/dev/null; then
  pip_q --no-deps "tf-keras~=${TF_MINOR}.0"
fi
if [ -n "${TORCH_SPEC:-}" ] && ! "$PY" -c 'import torch' 2>/dev/null; then
  pip_q "$TORCH_SPEC"   # CPU wheel where one lies on disk; an installed torch (a GPU build) is kept
fi
pip_q -e ".${EXTRAS}"
