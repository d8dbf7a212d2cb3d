"""Quiet defaults for the `slimcompat` commands, and lighter ones for the programs `run` runs.

TensorFlow's C++ start-up lines (oneDNN, CPU features, the absl notice that
precedes them; TF 2.21 prints some twice, from two native libraries) are
written to file descriptor 2 while `tensorflow` imports, whatever
TF_CPP_MIN_LOG_LEVEL says, so no environment setting hides them all. So fd 2
goes to a temporary file while TensorFlow imports, and what it caught is
replayed afterwards less those lines: anything else (an import error, a repair
that failed) still reaches the user.

The commands (`apply`): later C++ logging is held to errors by
TF_CPP_MIN_LOG_LEVEL=2, which child processes inherit; TensorFlow's Python
logger to errors; deprecation and future warnings, addressed to the authors of
the frameworks, are dropped; what remains prints as one `slimcompat: warning:`
line each.

`run` (`apply_to_program`) owes the program its own output, so it holds back
only what the frameworks say about themselves: the start-up lines, C++ info
lines (TF_CPP_MIN_LOG_LEVEL=1; warnings and errors still print), and
deprecation notices (Python warnings and TensorFlow's "From FILE:LINE: ... is
deprecated" log lines) whose location is framework code (installed, or
slimcompat's own). A notice located in the program's code concerns the program
and prints unchanged, as do its prints, warnings, logging and tracebacks.

`--verbose` keeps all of it, as does TF_CPP_MIN_LOG_LEVEL=0 set by the user
for the C++ lines.
"""

import logging
import os
import re
import sys
import tempfile
import warnings

__all__ = ["apply", "apply_to_program", "NOISE"]

_TRIGGER = "tensorflow"
# Lines TensorFlow's native libraries print at import (glog-style I/W lines, the absl notice,
# the continuation of cpu_feature_guard's line).
NOISE = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
                   r"|[IW]\d{4} [\d:. ]+\d+ [\w.]+:\d+\] .*"
                   r"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.")
# Notices TF and tf-keras print about their own internals when tf_slim runs under them.
_FRAMEWORK_NOISE = (r"`layer\.apply` is deprecated", r"`layer\.updates` will be removed")
_DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
_DEPRECATED = re.compile(r"\bdeprecated\b|will be removed")
_LOCATED = re.compile(r"From .+?:\d+: ")  # TensorFlow's deprecation log lines (tensorflow/python/util/deprecation.py)
# TensorFlow's logging and decorators (deprecation, tf_should_use): frames between a notice and its caller.
_PLUMBING = tuple(os.path.join("tensorflow", "python", sub) + os.sep for sub in ("util", "platform"))


class _filtered_fd2:
    """Send fd 2 to a temporary file; on exit restore it and write back what was not NOISE."""

    def __enter__(self):
        sys.stderr.flush()
        self._spool = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._spool.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._spool.seek(0)
        text = self._spool.read().decode("utf-8", "replace")
        self._spool.close()
        kept = [line for line in text.splitlines() if line.strip() and not NOISE.fullmatch(line.strip())]
        if kept:
            print("\n".join(kept), file=sys.stderr, flush=True)


def _one_line(message, category, filename, lineno, file=None, line=None):
    print(f"slimcompat: warning: {message}", file=sys.stderr)


def _hold_start_up(level):
    """Hide TensorFlow's C++ start-up lines, and later C++ lines below TF_CPP_MIN_LOG_LEVEL `level` unless the
    user set a level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", level)
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0":
        from slimcompat.runtime.activation import around_import
        around_import(_TRIGGER, _filtered_fd2)


def apply(verbose=False):
    """Set the quiet defaults for this process and its children, unless `verbose`."""
    if verbose:
        return
    _hold_start_up("2")
    warnings.showwarning = _one_line
    for category in _DEPRECATIONS:
        warnings.filterwarnings("ignore", category=category)
    for pattern in _FRAMEWORK_NOISE:
        warnings.filterwarnings("ignore", message=pattern)
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _framework(filename):
    """Whether a warning's or notice's location is framework code: installed, slimcompat's, or import machinery."""
    from slimcompat.legacy.v1_module import is_installed
    own_package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    return (filename.startswith("<frozen ") or is_installed(filename)
            or os.path.realpath(filename).startswith(own_package + os.sep))


def _deprecation(message, category):
    return issubclass(category, _DEPRECATIONS) or bool(_DEPRECATED.search(message))


def _caller():
    """The file of the code that called into TensorFlow's logging and decorators from here."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if name not in (__file__, logging.__file__) and not any(part in name for part in _PLUMBING):
            return name
        frame = frame.f_back
    return ""


class _FrameworkNotices(logging.Filter):
    """Drops TensorFlow's deprecation log lines when framework code called the deprecated function.

    The caller is found on the stack rather than read from the line: behind a
    second decorator (tf_should_use) TensorFlow names the decorator's file.
    """

    def filter(self, record):
        message = record.getMessage()
        return not (_LOCATED.match(message) and _DEPRECATED.search(message) and _framework(_caller()))


def apply_to_program(verbose=False):
    """`run`'s quiet defaults (see the module doc), unless `verbose`; call before TensorFlow is imported."""
    if verbose:
        return
    _hold_start_up("1")
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if not (_deprecation(str(message), category) and _framework(filename)):
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _FrameworkNotices) for f in logger.filters):
        logger.addFilter(_FrameworkNotices())
