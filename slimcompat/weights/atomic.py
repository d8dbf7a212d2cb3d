"""Write a file completely or not at all: a temporary file beside it, then rename."""

import contextlib
import os
import pathlib
import tempfile

from slimcompat.errors import WeightsError

__all__ = ["atomic_output", "check_destination"]


def check_destination(path, overwrite=False):
    """Raise WeightsError unless `path` may be written."""
    path = pathlib.Path(path)
    if path.exists() and not overwrite:
        raise WeightsError(path, "already exists (use --force to overwrite)")
    if not path.parent.is_dir():
        raise WeightsError(path, f"cannot write: folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise WeightsError(path, f"cannot write: folder {path.parent} is not writable")


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path, overwrite=False, keep_suffix=False):
    """Yield a temporary path in `path`'s folder; rename it to `path` on success.

    On any exception the temporary file is removed and `path` is untouched.
    keep_suffix: end the temporary name like `path` (`.keras`, `.weights.h5`),
    for writers that insist on an extension.
    """
    path = pathlib.Path(path)
    check_destination(path, overwrite)
    suffix = ".partial" + ("".join(path.suffixes) if keep_suffix else "")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would survive the rename
    os.close(fd)
    tmp = pathlib.Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
