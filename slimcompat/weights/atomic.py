"""Write a file completely or not at all, and never lose the file it replaces.

A writer fills a temporary file beside the destination, `.NAME.XXXXXXXX.partial`
(one file system, so the final step is a rename). The finished file is flushed
to disk (fsync) before it takes the destination's name: renamed over it when
overwriting, hard-linked to it otherwise, so that of two writers racing for a
new name exactly one wins and the other fails (a check followed by a rename
would let both succeed and one result vanish). The folder is flushed after.

A killed writer leaves its temporary file or folder behind; the next write to
the same destination removes those older than a minute (a live writer keeps
touching its own; a file's library may hold it open or closed at any time, so
age is what tells). A temporary folder (multi-file outputs) is also locked
(flock) while its writer lives and never removed while locked. Only names of
our own pattern are touched.
"""

import contextlib
import errno
import os
import pathlib
import re
import shutil
import tempfile
import time

from slimcompat.errors import WeightsError

try:
    import fcntl
except ImportError:  # no flock (Windows): abandoned partial folders are told by age alone
    fcntl = None

__all__ = ["atomic_output", "partial_folder", "is_partial_folder", "check_destination", "check_name",
           "clean_partials", "fsync_path", "fsync_folder", "write_failure"]

_PARTIAL = ".partial"
_RANDOM = r"[a-z0-9_]{8}"  # tempfile's random part
_STALE_AFTER = 60.0
# Write failures that are the machine's, not the data's: one line, not a traceback.
_FULL = {errno.ENOSPC: "no space left on the device", errno.EFBIG: "file too large (file size limit)",
         errno.EDQUOT: "disk quota exceeded"}


def check_name(path):
    """Raise WeightsError if `path` cannot be passed to HDF5 and TensorFlow (they take UTF-8 names only)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(path)
        raise WeightsError(ascii(raw)[2:-1], "the file name is not valid UTF-8; HDF5 and TensorFlow take "
                                              "UTF-8 names only: choose another name") from None


def check_destination(path, overwrite=False):
    """Raise WeightsError unless `path` may be written."""
    path = pathlib.Path(path)
    check_name(path)
    if path.is_dir():
        raise WeightsError(path, f"is a folder; name the file to write inside it, e.g. {path / 'weights.h5'}")
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


def _partial_name(path):
    """The pattern of our temporary names for `path`: `.NAME.XXXXXXXX.partial[suffixes]`."""
    return re.compile(re.escape(f".{path.name}.") + _RANDOM + re.escape(_PARTIAL) + r"(\..*)?\Z")


def is_partial_folder(path, name):
    """Whether `name` is one `partial_folder(path)` could have given its temporary folder."""
    pattern = re.escape(f".{pathlib.Path(path).name}.") + _RANDOM + re.escape(_PARTIAL)
    return re.fullmatch(pattern, name) is not None


def _lock_folder(fd, block=True):
    """flock an open folder: True if taken, False if another process holds it (best effort)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except OSError as exc:
        return exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)
    return True


def clean_partials(path, stale_after=_STALE_AFTER):
    """Remove temporary files and folders of killed writers to `path`; returns the names removed."""
    path = pathlib.Path(path)
    pattern, removed, now = _partial_name(path), [], time.time()
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.match(entry.name) or entry.is_symlink():
            continue
        try:
            folder = entry.is_dir()
            if now - _newest_change(entry.path, folder) < stale_after:
                continue
            if not folder:
                os.unlink(entry.path)
                removed.append(entry.name)
                continue
            fd = os.open(entry.path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _lock_folder(fd, block=False):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.name)
        finally:
            os.close(fd)
    return removed


def _newest_change(path, folder):
    """Last modification of a file, or of a folder and anything directly in it."""
    times = [os.stat(path).st_mtime]
    if folder:
        times += [e.stat().st_mtime for e in os.scandir(path)]
    return max(times)


def fsync_path(path):
    """Flush a file's (or folder's) contents to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder):
    """Flush a folder's entries (renames, links, removals) to disk, where the file system allows it."""
    try:
        fsync_path(folder)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.EACCES):
            raise


def write_failure(exc):
    """The one-line reason if `exc` is a write failing for lack of space (any library's wording), else None."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return _FULL[exc.errno]
    text = str(exc)
    for code, reason in _FULL.items():
        if os.strerror(code) in text or f"errno = {code}," in text:
            return reason
    return None


@contextlib.contextmanager
def _failures_as_one_line(path):
    """Re-raise a write failing for lack of space as one WeightsError naming the destination."""
    try:
        yield
    except WeightsError:
        raise
    except Exception as exc:
        reason = write_failure(exc)
        if reason is None:
            raise
        raise WeightsError(path, f"cannot write: {reason}; nothing was written and any existing file "
                                 f"is untouched") from None


def _place(tmp, path, overwrite):
    """Give the finished temporary file `path`'s name: replace, or create without overwriting."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise WeightsError(path, "already exists: another process wrote it meanwhile "
                                 "(use --force to overwrite)") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(path):  # no hard links on this file system: the check cannot be atomic
            raise WeightsError(path, "already exists (use --force to overwrite)") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_output(path, overwrite=False, keep_suffix=False):
    """Yield a temporary path in `path`'s folder; on success it becomes `path`, flushed to disk.

    On any exception the temporary file is removed and `path` is untouched.
    Without `overwrite`, a `path` that appears meanwhile is never replaced.
    keep_suffix: end the temporary name like `path` (`.keras`, `.weights.h5`),
    for writers that insist on an extension.
    """
    path = pathlib.Path(path)
    check_destination(path, overwrite)
    clean_partials(path)
    suffix = _PARTIAL + ("".join(path.suffixes) if keep_suffix else "")
    with _failures_as_one_line(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    tmp = pathlib.Path(tmp)
    try:
        with _failures_as_one_line(path):
            yield tmp
            # mkstemp's 0600 would survive the rename; set on the path, as a writer may have made a new file there
            os.chmod(tmp, 0o666 & ~_umask())
            fsync_path(tmp)
            _place(tmp, path, overwrite)
            fsync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
        os.close(fd)


@contextlib.contextmanager
def partial_folder(path):
    """Yield a locked temporary folder beside `path` (`.NAME.XXXXXXXX.partial`), removed on exit."""
    path = pathlib.Path(path)
    clean_partials(path)
    with _failures_as_one_line(path):
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=_PARTIAL, dir=path.parent))
    fd = os.open(tmp, os.O_RDONLY)
    try:
        _lock_folder(fd)
        with _failures_as_one_line(path):
            yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        os.close(fd)
