"""The README's two commands on a system whose Python refuses pip (PEP 668), as on Debian 12 / Ubuntu 24.04.

The system Python is simulated cheaply and faithfully: a copy of this test
run's base interpreter in a folder of its own, its standard library linked in
and marked with the `EXTERNALLY-MANAGED` file that pip honours outside virtual
environments (checked below: pip refuses it). Its site-packages points at the
packages this run already has, and the scripts are told to build their `.venv`
with --system-site-packages (SLIMCOMPAT_VENV_ARGS) and pip not to use an index,
so nothing is downloaded: what runs is the scripts' own path from a bare clone
to a working `.venv`, minus the 274 MB of TensorFlow and the PyTorch wheel.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import time

import pytest

from conftest import HANG, REPO

_MARKER = "[externally-managed]\nError=this Python is managed by the system (slimcompat test)\n"
_IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", ".pytest_cache", "build", "dist",
                                  "slimcompat-demo", "out")


def system_python(root, with_venv=True):
    """A Python installation at `root` that is no virtual environment and whose stdlib says EXTERNALLY-MANAGED."""
    executable = pathlib.Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    stdlib = pathlib.Path(sysconfig.get_path("stdlib"))
    lib = root / "lib" / stdlib.name
    (root / "bin").mkdir(parents=True)
    (lib / "site-packages").mkdir(parents=True)
    shutil.copy2(executable, root / "bin" / "python3")
    for shared in pathlib.Path(sys.base_prefix, "lib").glob("libpython*"):
        (root / "lib" / shared.name).symlink_to(shared)
    left_out = {"site-packages"} | (set() if with_venv else {"venv", "ensurepip"})  # Debian without python3-venv
    for entry in stdlib.iterdir():
        if entry.name not in left_out:
            (lib / entry.name).symlink_to(entry)
    (lib / "EXTERNALLY-MANAGED").write_text(_MARKER)
    here = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (lib / "site-packages" / "this_run.pth").write_text("\n".join(sorted(here)) + "\n")
    return root / "bin" / "python3"


def clean_env(base, **extra):
    """The environment of a fresh shell whose `python3` is `base`: no venv active, nothing on PYTHONPATH."""
    env = {"PATH": f"{base.parent}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


@pytest.fixture
def clone(tmp_path):
    repo = tmp_path / "slimcompat"
    shutil.copytree(REPO, repo, ignore=_IGNORED, symlinks=True)
    return repo


@pytest.mark.first_hour
def test_the_two_commands_work_where_the_system_python_refuses_pip(tmp_path, clone):
    base = system_python(tmp_path / "system")
    refused = subprocess.run([base, "-m", "pip", "install", "--no-index", "slimcompat"], env=clean_env(base),
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr, refused.stderr
    # --without-pip: the .venv uses this run's pip and setuptools, so that no older copy in the .venv shadows
    # them and asks an index for an upgrade (torch needs setuptools >= 77).
    env = clean_env(base, SLIMCOMPAT_VENV_ARGS="--system-site-packages --without-pip", PIP_NO_INDEX="1",
                    PIP_NO_BUILD_ISOLATION="0")
    start = time.perf_counter()
    tests = subprocess.run(["bash", "tools/test.sh", "-q", "-p", "no:cacheprovider",
                            "tests/test_arch.py::test_keras1_scheme_reproduces_the_published_names"],
                           cwd=clone, env=env, capture_output=True, text=True, timeout=HANG)
    first = time.perf_counter() - start
    assert tests.returncode == 0, tests.stdout[-2000:] + tests.stderr[-3000:]
    assert "1 passed" in tests.stdout
    assert tests.stderr.count("creating the virtual environment .venv") == 1
    venv_python = clone / ".venv" / "bin" / "python"
    where = subprocess.run([venv_python, "-c", "import slimcompat, sys, tensorflow, tf_keras, tf_slim; "
                            "print(slimcompat.__file__, sys.prefix)"],
                           cwd="/", env=clean_env(base, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True,
                           text=True, check=True).stdout.split()
    assert pathlib.Path(where[0]).is_relative_to(clone) and pathlib.Path(where[1]) == clone / ".venv"
    demo = subprocess.run(["bash", "tools/demo.sh", "--help"], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=HANG)
    assert demo.returncode == 0 and "--workdir" in demo.stdout, demo.stderr[-3000:]
    assert "creating the virtual environment" not in demo.stderr  # the same .venv, reused
    assert sorted(p.name for p in (tmp_path / "system" / "lib").glob("*/site-packages/*")) == ["this_run.pth"]
    print(f"\ninstall path under an externally-managed Python: test.sh (venv + install + 1 test) {first:.1f} s, "
          f"then demo.sh --help {time.perf_counter() - start - first:.1f} s")


def test_a_missing_venv_module_is_one_line_saying_what_to_install(tmp_path, clone):
    base = system_python(tmp_path / "system", with_venv=False)
    for script in ("tools/demo.sh", "tools/test.sh"):
        out = subprocess.run(["bash", script], cwd=clone, env=clean_env(base), capture_output=True, text=True,
                             timeout=HANG)
        errors = [line for line in out.stderr.splitlines() if "creating the virtual environment" not in line]
        assert out.returncode == 1 and len(errors) == 1, out.stderr
        assert "python3 -m venv" in errors[0] and "apt install python3-venv" in errors[0] and "PYTHON=" in errors[0]
        assert not (clone / ".venv").exists()


def test_ci_runs_only_the_readme_commands_and_the_venv_is_ignored():
    commands = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
                if line and not line.startswith("#")][-2:]
    assert commands == ["bash tools/test.sh", "bash tools/test.sh corpus"]
    readme = (REPO / "README.md").read_text()
    assert "bash tools/test.sh     #" in readme and "bash tools/test.sh corpus" in readme
    assert "| `corpus` |" in (REPO / "docs" / "testing.md").read_text()
    assert ".venv/" in (REPO / ".gitignore").read_text().splitlines()
