"""Shared helpers: run slimcompat or python in a fresh interpreter, as users do."""

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "slimcompat" / "examples" / "legacy_resnet_v2.py"


def run_python(*args, cwd=None, timeout=600, check=True, env=None):
    """`python ARGS` in a fresh process, `env` added to the environment (None removes a variable)."""
    env = {k: v for k, v in {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}.items() if v is not None}
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {' '.join(map(str, args))}\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def start_python(*args, cwd=None, env=None):
    """`python ARGS` started in a fresh process (stdout and stderr piped); see finish()."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    return subprocess.Popen([sys.executable, *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=600, check=True):
    """Wait for a start_python() process; CompletedProcess, an AssertionError on failure if `check`."""
    out, err = proc.communicate(timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {' '.join(map(str, proc.args))}\n{out[-3000:]}\n{err[-5000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


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
