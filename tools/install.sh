#!/usr/bin/env bash
# Install slimcompat and its runtime into the Python tools/python.sh picks: PYTHON, an active
# virtual environment, or else .venv in the repository (made here on first use).
#   tools/install.sh            CPU TensorFlow (default; the 274 MB tensorflow-cpu wheel)
#   tools/install.sh --gpu      TensorFlow with CUDA libraries (tensorflow[and-cuda])
#   tools/install.sh --test     also what the tests need (pytest; torch==2.13.0 CPU and safetensors: the [torch] extra;
#                               torchvision 0.28.0 and timm 1.0.31, whose models the tests load converted weights
#                               into)
# tf-keras hard-requires the `tensorflow` distribution (572 MB, GPU-capable);
# it is installed with --no-deps against whichever TensorFlow is present so the
# CPU wheel is not shadowed by a second, larger copy.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/python.sh
TF_SPEC='tensorflow-cpu>=2.16,<2.22'
EXTRAS=""
for arg in "$@"; do
  case "$arg" in
    --gpu) TF_SPEC='tensorflow[and-cuda]>=2.16,<2.22' ;;
    --test) EXTRAS="[test,torch]"; TORCH_SPEC='torch==2.13.0'; TORCHVISION_SPEC='torchvision==0.28.0'
            TIMM_SPEC='timm==1.0.31' ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
pip_q() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }
# One TensorFlow import answers both questions: which TensorFlow, and does tf_keras import.
probe() {
  TF_CPP_MIN_LOG_LEVEL=3 "$PY" -c '
import importlib.util, tensorflow as tf
print(".".join(tf.__version__.split(".")[:2]), importlib.util.find_spec("tf_keras") is not None)' 2>/dev/null \
    || echo "none False"
}
read -r TF_MINOR HAS_TF_KERAS <<< "$(probe)"
if [ "$TF_MINOR" = none ]; then
  pip_q "$TF_SPEC"
  read -r TF_MINOR HAS_TF_KERAS <<< "$(probe)"
  if [ "$TF_MINOR" = none ]; then
    echo "install.sh: TensorFlow is installed but does not import in $PY; run: $PY -c 'import tensorflow'" >&2
    exit 1
  fi
fi
if [ "$HAS_TF_KERAS" != True ]; then
  pip_q --no-deps "tf-keras~=${TF_MINOR}.0"
fi
if [ -n "${TORCH_SPEC:-}" ] && ! "$PY" -c 'import torch' 2>/dev/null; then
  pip_q "$TORCH_SPEC"   # CPU wheel where one lies on disk; an installed torch (a GPU build) is kept
fi
# PyPI's torchvision is built against CUDA torch; its Python model code runs on the CPU torch all the same
# (slimcompat.testing.torchvision_models says how), so it goes in without its torch pin.
if [ -n "${TORCHVISION_SPEC:-}" ] && ! "$PY" -c 'import importlib.util as u; exit(u.find_spec("torchvision") is None)'; then
  pip_q --no-deps "$TORCHVISION_SPEC"
fi
pip_q -e ".${EXTRAS}"
# timm is pure Python; without its deps (huggingface_hub, pyyaml: for downloads and configs the tests never use),
# and after the line above, whose resolver would otherwise report them missing.
if [ -n "${TIMM_SPEC:-}" ] && ! "$PY" -c 'import importlib.util as u; exit(u.find_spec("timm") is None)'; then
  pip_q --no-deps "$TIMM_SPEC"
fi
