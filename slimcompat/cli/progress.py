"""A byte-counting progress bar (tqdm) that stays silent for quick jobs and --quiet."""

import contextlib
import sys

__all__ = ["progress_bar"]


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
    """Yield a callable(n_bytes) whose `total` a reader may set; the bar appears only after half a second."""
    if quiet:
        yield lambda n: None
        return
    from tqdm import tqdm
    with tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024,
              delay=0.5, file=sys.stderr, leave=False) as bar:
        yield _Bar(bar)
