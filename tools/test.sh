#!/usr/bin/env bash
# Install what the tests need, then run them: the default suite plus the slow
# tf-slim shipped-suite check (about 8 minutes on 2 cores). Extra arguments go
# to pytest, e.g. tools/test.sh -m "not slow" for the quick suite only.
# Python: see tools/python.sh (PYTHON, an active virtual environment, or .venv here).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh --test
source tools/python.sh
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
if [ "$#" -eq 0 ]; then set -- -m "not gpu"; fi
exec "$PY" -m pytest "$@"
