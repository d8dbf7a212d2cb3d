"""Shared helpers: run slimcompat or python in a fresh interpreter, as users do."""

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "slimcompat" / "examples" / "legacy_resnet_v2.py"


def run_python(*args, cwd=None, timeout=600, check=True):
    """`python ARGS` in a fresh process; returns CompletedProcess (text)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {' '.join(map(str, args))}\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def slimcompat(*args, **kwargs):
    """`slimcompat ARGS` in a fresh process."""
    return run_python("-m", "slimcompat", *args, **kwargs)


@pytest.fixture
def write(tmp_path):
    """write(name, text) -> path of a file created under tmp_path."""
    def _write(name, text):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path
    return _write
