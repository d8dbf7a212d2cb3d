"""`slimcompat run`: run a TF1-era script or module unmodified.

Behaves as `python SCRIPT ARGS` or `python -m MODULE ARGS` would, after
switching on the legacy import path: sys.argv, sys.path[0] and `__main__` are
set as the interpreter sets them, and SystemExit passes through.
"""

import os
import runpy
import sys

from slimcompat.legacy import enable

__all__ = ["run_script", "run_module"]


def run_script(path, args=()):
    """Run the file at `path` as `__main__` with `args` in sys.argv."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such script")
    enable()
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    runpy.run_path(path, run_name="__main__")


def run_module(name, args=()):
    """Run module `name` as `python -m name` would."""
    enable()
    sys.argv = [name, *args]
    sys.path.insert(0, os.getcwd())
    runpy.run_module(name, run_name="__main__", alter_sys=True)
