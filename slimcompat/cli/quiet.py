"""Quiet defaults for the `slimcompat` commands (all but `run`, which owes the script its own output).

TensorFlow's C++ start-up lines (oneDNN, CPU features, the absl notice that
precedes them) are written to file descriptor 2 while `tensorflow` imports,
before TF_CPP_MIN_LOG_LEVEL is read by the logger that honours it, so no
environment setting hides them all. So fd 2 goes to a temporary file while
TensorFlow imports, and what it caught is replayed afterwards less those lines:
anything else (an import error, a repair that failed) still reaches the user.
Later C++ logging is held to errors by TF_CPP_MIN_LOG_LEVEL=2, which child
processes inherit; TensorFlow's Python logger to errors; deprecation and future
warnings, addressed to the authors of the frameworks, are dropped; what remains
prints as one `slimcompat: warning:` line each. `--verbose` keeps all of it, as
does a TF_CPP_MIN_LOG_LEVEL the user set.
"""

import importlib.abc
import logging
import os
import re
import sys
import tempfile
import warnings

__all__ = ["apply", "NOISE"]

_TRIGGER = "tensorflow"
# Lines TensorFlow's native libraries print at import (glog-style I/W lines, the absl notice,
# the continuation of cpu_feature_guard's line).
NOISE = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
                   r"|[IW]\d{4} [\d:. ]+\d+ [\w.]+:\d+\] .*"
                   r"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.")
# Notices TF and tf-keras print about their own internals when tf_slim runs under them.
_FRAMEWORK_NOISE = (r"`layer\.apply` is deprecated", r"`layer\.updates` will be removed")


class _QuietImport(importlib.abc.MetaPathFinder):
    """Wraps the loader of `tensorflow` (as the other finders give it) in an fd 2 capture.

    Other finders that wrap loaders the same way ask the rest of sys.meta_path,
    this one included; the guard answers them None instead of asking back.
    """

    def __init__(self):
        self._asking = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _TRIGGER or self._asking:
            return None
        self._asking = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = _CapturingLoader(spec.loader)
                    return spec
        finally:
            self._asking = False
        return None


class _CapturingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietImport)]
        with _filtered_fd2():
            self._loader.exec_module(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


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


def apply(verbose=False):
    """Set the quiet defaults for this process and its children, unless `verbose`."""
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0" and _TRIGGER not in sys.modules:
        sys.meta_path.insert(0, _QuietImport())
    warnings.showwarning = _one_line
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    for pattern in _FRAMEWORK_NOISE:
        warnings.filterwarnings("ignore", message=pattern)
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
