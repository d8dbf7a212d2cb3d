"""tf-slim's own shipped test suite under slimcompat: see slimcompat/testing/tfslim_suite.py (--help)."""

import sys

from slimcompat.testing.tfslim_suite import main

if __name__ == "__main__":
    sys.exit(main())
