"""The GPU parity table: see slimcompat/testing/gpu_parity.py (python tools/gpu_parity.py --help)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from slimcompat.testing.gpu_parity import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
