"""`slimcompat run` starts quietly: TensorFlow's start-up lines and the frameworks' notices about their own code are
held back, everything the program says or causes still prints, and `--verbose` brings the rest back.

Start-up lines only show in a fresh process, so the runs are subprocesses, with TF_CPP_MIN_LOG_LEVEL unset as users
have it.
"""

import logging
import os
import sysconfig
import warnings

import pytest

from conftest import run_python, slimcompat
from slimcompat.cli import quiet

UNSET = {"TF_CPP_MIN_LOG_LEVEL": None}

# slim.fully_connected makes tf_keras call its own deprecated `layer.apply`, enable() calls the deprecated
# disable_resource_variables: notices about framework code. initialize_all_variables is the program's own
# deprecated call, which TensorFlow reports at its decorator's file.
PROGRAM = """\
import logging
import warnings

import tensorflow as tf
import tensorflow.contrib.slim as slim

x = tf.placeholder(tf.float32, [None, 3])
y = slim.fully_connected(x, 2, scope="fc")
warnings.warn("the program's own warning")
warnings.warn("the program's own deprecation", DeprecationWarning)
logging.getLogger("program").warning("the program's own log line")
with tf.Session() as session:
    session.run(tf.initialize_all_variables())
    print("output", session.run(y, {x: [[1, 2, 3]]}).shape)
"""
FRAMEWORK_NOTICES = ("disable_resource_variables (from tensorflow", "`layer.apply` is deprecated")
OWN_LINES = ("prog.py:9: UserWarning: the program's own warning",
             "prog.py:10: DeprecationWarning: the program's own deprecation",
             "the program's own log line",
             "initialize_all_variables (from tensorflow.python.ops.variables) is deprecated")


@pytest.fixture(scope="module")
def runs(module_tmp):
    """stderr of the program run quietly, with --verbose, and of a plain `import tensorflow`."""
    folder = module_tmp("quiet")
    (folder / "prog.py").write_text(PROGRAM)
    quiet_run = slimcompat("run", "prog.py", cwd=folder, env=UNSET)
    loud = slimcompat("run", "--verbose", "prog.py", cwd=folder, env=UNSET)
    assert quiet_run.stdout == loud.stdout == "output (1, 2)\n"
    plain = run_python("-c", "import tensorflow", env=UNSET)
    return quiet_run.stderr, loud.stderr, plain.stderr


def _noise(text):
    return [line.split("]")[-1] for line in text.splitlines() if quiet.NOISE.fullmatch(line.strip())]


def _notices(text):
    return [notice for notice in FRAMEWORK_NOTICES if notice in text]


@pytest.mark.slow
def test_run_holds_back_start_up_lines_and_framework_notices_and_keeps_the_programs_own(runs):
    quiet_err, loud_err, _ = runs
    assert _noise(quiet_err) == [] and _notices(quiet_err) == [], quiet_err
    assert [line for line in OWN_LINES if line not in quiet_err] == [], quiet_err
    assert quiet_err.startswith("slimcompat run: TF1 API in graph mode")
    lines = iter(loud_err.splitlines())
    assert all(line in lines for line in quiet_err.splitlines()), "quiet run printed a line --verbose does not"


@pytest.mark.slow
def test_verbose_brings_the_start_up_lines_and_notices_back(runs):
    _, loud_err, plain_err = runs
    start_up = _noise(plain_err)  # what this machine's TensorFlow prints at import; C++ info lines may follow
    assert _noise(loud_err)[:len(start_up)] == start_up, loud_err
    assert _notices(loud_err) == list(FRAMEWORK_NOTICES), loud_err
    assert [line for line in OWN_LINES if line not in loud_err] == [], loud_err


def test_a_notice_is_held_back_by_who_called_not_by_its_wording(monkeypatch, tmp_path, request):
    """Framework-located deprecations go; the program's deprecations, and other framework warnings, stay."""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the user's level: no start-up capture is set up
    logger = logging.getLogger("tensorflow")
    request.addfinalizer(lambda level=logger.level: logger.setLevel(level))
    logger.setLevel(logging.WARNING)  # as in a fresh process: in-process commands before this one set ERROR
    monkeypatch.setattr(logger, "filters", list(logger.filters))
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", False)
    logged = []
    handler = logging.Handler()
    handler.emit = lambda record: logged.append(record.getMessage())
    logger.addHandler(handler)
    shown = []
    monkeypatch.setattr(warnings, "showwarning", lambda message, *rest, **kw: shown.append(str(message)))
    quiet.apply_to_program()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"

    installed = os.path.join(sysconfig.get_paths()["purelib"], "somelib", "core.py")
    own = str(tmp_path / "prog.py")
    notice = "From {}:1: f (from somelib) is deprecated and will be removed in a future version."
    say = "import warnings\nwarnings.warn_explicit({!r}, {}, __file__, 1)\nlogger.warning({!r})\n"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for where in (installed, own):
            for message, category in (("old is deprecated", "UserWarning"), ("old", "DeprecationWarning"),
                                      ("other", "UserWarning")):
                code = say.format(f"{message} in {where}", category, notice.format(where))
                exec(compile(code, where, "exec"), {"logger": logger, "__file__": where})
    assert shown == [f"other in {installed}", f"old is deprecated in {own}", f"old in {own}", f"other in {own}"]
    assert logged == [notice.format(own)] * 3


def test_run_help_says_verbose_shows_the_start_up_lines(capsys):
    from slimcompat.cli.main import main
    assert main(["run", "--help"]) == 0
    assert "TensorFlow's start-up lines" in capsys.readouterr().out
