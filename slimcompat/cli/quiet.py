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
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0":
        from slimcompat.runtime.activation import around_import
        around_import(_TRIGGER, _filtered_fd2)
    warnings.showwarning = _one_line
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    for pattern in _FRAMEWORK_NOISE:
        warnings.filterwarnings("ignore", message=pattern)
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
