"""`python -m slimcompat` is the `slimcompat` command."""

import sys

from slimcompat.cli.main import main

sys.exit(main())
