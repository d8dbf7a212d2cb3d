"""Shared helpers: run slimcompat or python in a fresh interpreter, as users do; GPU tests only where there is one."""

import os
import pathlib
import shutil
import subprocess
import sys
import warnings

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "slimcompat" / "examples" / "legacy_resnet_v2.py"
# Timeouts only stop a hung child: a loaded machine may be many times slower than a quiet one.
HANG = 3600


def run_python(*args, cwd=None, timeout=HANG, check=True, env=None):
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


def finish(proc, timeout=HANG, check=True):
    """Wait for a start_python() process; CompletedProcess, an AssertionError on failure if `check`."""
    out, err = proc.communicate(timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {' '.join(map(str, proc.args))}\n{out[-3000:]}\n{err[-5000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def slimcompat(*args, **kwargs):
    """`slimcompat ARGS` in a fresh process."""
    return run_python("-m", "slimcompat", *args, **kwargs)


KERAS1_NAME = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"


class Built:
    """Fixture files built once per test session, each in a folder of its own, keyed by what they are.

    Tests read them in place and copy one only to change it, so no test writes what another built.
    """

    def __init__(self, factory):
        self._factory, self._files = factory, {}

    def _once(self, key, build):
        if key not in self._files:
            self._files[key] = build(self._factory.mktemp("-".join(map(str, key))))
        return self._files[key]

    def slim_checkpoint(self, family, num_classes, seed=0):
        """{'V2': prefix, 'V1': file} of slim_models.build_slim_checkpoint's net (outputs: slim_outputs)."""
        from slimcompat.testing.slim_models import build_slim_checkpoint
        return self._once(("slim", family, num_classes, seed),
                          lambda folder: build_slim_checkpoint(folder, family, num_classes, seed=seed)[0])

    def keras1_resnet50(self, include_top=True, seed=0):
        """(path, {canonical name: array}) of the Keras-1 ResNet50 file as published (its _notop twin)."""
        from slimcompat.testing.keras1_writer import write_keras1_resnet50

        def build(folder):
            path = folder / (KERAS1_NAME if include_top else KERAS1_NAME.replace(".h5", "_notop.h5"))
            return path, write_keras1_resnet50(path, include_top=include_top, seed=seed)
        return self._once(("keras1", include_top, seed), build)


@pytest.fixture(scope="session")
def fixture_files(tmp_path_factory):
    return Built(tmp_path_factory)


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory):
    """module_tmp(name): a new folder for files a module's tests share, removed when the module's tests end.

    Without this a run would keep every module's files until pytest's next runs prune them (gigabytes).
    """
    made = []

    def mktemp(name):
        made.append(tmp_path_factory.mktemp(name))
        return made[-1]
    yield mktemp
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def cli(capsys):
    """cli(*args, check=True): `slimcompat ARGS` called in this process, as slimcompat() but without the
    interpreter start; a CompletedProcess with the exit code and what it printed. Warning filters the command
    sets are undone after it."""
    from slimcompat.cli.main import main

    def _cli(*args, check=True):
        capsys.readouterr()
        with warnings.catch_warnings():
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:   # argparse: --help, usage errors
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        out, err = capsys.readouterr()
        if check and code != 0:
            raise AssertionError(f"exit {code}: slimcompat {' '.join(map(str, args))}\n{out[-3000:]}\n{err[-5000:]}")
        return subprocess.CompletedProcess(["slimcompat", *map(str, args)], code, out, err)
    return _cli


@pytest.fixture
def write(tmp_path):
    """write(name, text) -> path of a file created under tmp_path."""
    def _write(name, text):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path
    return _write


def _torch_sees_a_gpu():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    """Leave out `gpu` tests where PyTorch sees no GPU, whatever -m selected: they cannot pass there."""
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if gpu and not _torch_sees_a_gpu():
        config.hook.pytest_deselected(items=gpu)
        items[:] = [item for item in items if not item.get_closest_marker("gpu")]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The corpus tier's table (tests/corpus/test_corpus.py leaves it on the config), after the tests."""
    table = getattr(config, "slimcompat_corpus_table", None)
    if table:
        terminalreporter.section("the era's programs: plain, under run, migrated")
        for line in table.splitlines():
            terminalreporter.write_line(line)
