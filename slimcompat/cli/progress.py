"""A byte-counting progress bar (tqdm) for a person watching a terminal, never in piped logs.

Shown when stderr is a terminal, after half a second (quick jobs stay silent);
`--progress` shows it at once wherever stderr goes, `--no-progress` and
`--quiet` never. The choice is the command line's, so `main` sets it per call
(`choose`).
"""

import contextlib
import sys

__all__ = ["progress_bar", "choose", "shows"]

_forced = None   # True: --progress, False: --no-progress, None: stderr decides


def choose(forced):
    """Record --progress (True), --no-progress (False) or neither (None) for the bars of this command."""
    global _forced
    _forced = forced


def shows(stream, forced=None):
    """Whether a bar appears on `stream`: as forced, else only on a terminal."""
    if forced is not None:
        return forced
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Bar:
    """callable(n_bytes) with a settable `total`, the protocol of slimcompat.weights.progress."""

    def __init__(self, bar):
        self._bar = bar

    def __call__(self, n):
        self._bar.update(n)

    @property
    def total(self):
        return self._bar.total

    @total.setter
    def total(self, value):
        self._bar.total = value  # shown from the next update: a refresh now would defeat the bar's delay


@contextlib.contextmanager
def progress_bar(label, total=None, quiet=False):
    """Yield a callable(n_bytes) whose `total` a reader may set; see the module for when the bar shows."""
    if quiet or not shows(sys.stderr, _forced):
        yield lambda n: None
        return
    from tqdm import tqdm
    with tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024,
              delay=0 if _forced else 0.5, file=sys.stderr, leave=False) as bar:
        yield _Bar(bar)
