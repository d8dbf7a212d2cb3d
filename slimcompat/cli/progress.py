"""A byte-counting progress bar (tqdm) that stays silent for quick jobs and --quiet."""

import contextlib
import sys

__all__ = ["progress_bar"]


@contextlib.contextmanager
def progress_bar(label, total=None, quiet=False):
    """Yield a callable(n_bytes); the bar appears only after half a second."""
    if quiet:
        yield lambda n: None
        return
    from tqdm import tqdm
    with tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024,
              delay=0.5, file=sys.stderr, leave=False) as bar:
        yield bar.update
