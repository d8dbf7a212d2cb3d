"""Install several files at one name prefix so that a kill at any moment loses nothing.

One file is replaced atomically by a rename; a V2 checkpoint (`x.index` plus
`x.data-*`) is several files, and when new files take old names there is a
moment where the old set is gone and the new one incomplete. So the install is
journaled: the new files are finished and flushed in a temporary folder first
(the old ones untouched), then `.NAME.install` is written beside the prefix
listing every step, and then the steps run. The steps are idempotent; a
process killed among them leaves the journal, and `recover` replays them from
the start, so the prefix ends with the new set complete. Killed before the
journal was complete, the old set is untouched and the journal is dropped.

Recovery is a write, so it runs only when asked for (`slimcompat convert
--recover PREFIX`) or before the next install at the same prefix; a read that
finds a journal (`check_settled`) refuses in one line instead of reading a
half-installed set, and changes nothing. A journal is a file anyone can place
beside a downloaded checkpoint, so before any step runs every name it holds is
checked: the temporary folder must be one of the installer's own
(`.NAME.XXXXXXXX.partial`, a real folder), the files moved out of it plain
files directly in it, and every name installed or removed one the caller's
`is_member` accepts (for a slim checkpoint: the prefix, `prefix.index`,
`prefix.data-NNNNN-of-NNNNN`), none of them a symbolic link, all resolving
inside the prefix's own folder. Anything else is refused and nothing touched.

The journal is locked (flock) while its installer runs, so a reader or a
recovery waits for a live install to end instead of replaying it; it is
created with a hard link, so two installers never hold it together.
"""

import contextlib
import json
import os
import pathlib
import shutil
import stat
import tempfile

from slimcompat.errors import WeightsError
from slimcompat.weights.atomic import fsync_folder, is_partial_folder

try:
    import fcntl
except ImportError:  # no advisory locks (Windows): recovery trusts that no other installer runs
    fcntl = None

__all__ = ["installing", "recover", "check_settled", "journal_path"]

_SUFFIX = ".install"
_FORMAT = "slimcompat-install/1"
_LIMIT = 1 << 20


def journal_path(prefix):
    prefix = pathlib.Path(prefix)
    return prefix.with_name(f".{prefix.name}{_SUFFIX}")


def _flock(fd, shared=False):
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)


def _same_file(path, fd):
    try:
        return os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _record(partial, moves, first, last):
    return {"format": _FORMAT, "partial": pathlib.Path(partial).name,
            "moves": [[pathlib.Path(src).name, dst] for src, dst in moves],
            "first": list(first), "last": list(last)}


def _checked(prefix, record, is_member):
    """(partial folder, [(source, destination)], first, last) of a journal record, every path checked.

    Raises ValueError naming the first name an install of ours could not have
    written, or one that leads out of the prefix's folder.
    """
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        raise ValueError(f"expected a JSON object of format {_FORMAT}")
    folder = prefix.parent
    real = os.path.realpath(folder)
    partial = _plain(record.get("partial"), "partial")
    if not is_partial_folder(prefix, partial):
        raise ValueError(f"temporary folder {partial!r} is not named like the installer's (.{prefix.name}."
                         f"XXXXXXXX.partial)")
    _inside(folder / partial, real, "temporary folder", want=stat.S_ISDIR)
    moves = record.get("moves")
    if not isinstance(moves, list) or not all(isinstance(m, list) and len(m) == 2 for m in moves):
        raise ValueError("expected moves as a list of [file, destination] pairs")
    steps = []
    for src, dst in moves:
        src = _plain(src, "moved file")
        _inside(folder / partial / src, os.path.join(real, partial), "moved file", want=stat.S_ISREG)
        steps.append((folder / partial / src, folder / _member(dst, prefix, real, is_member)))
    lists = []
    for key in ("first", "last"):
        names = record.get(key)
        if not isinstance(names, list):
            raise ValueError(f"expected {key} as a list of names")
        lists.append([_member(n, prefix, real, is_member) for n in names])
    return folder / partial, steps, *lists


def _plain(name, what):
    if not isinstance(name, str) or not name or name in (".", "..") or "\0" in name \
            or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(f"{what} {name!r} is not a plain file name")
    return name


def _member(name, prefix, real, is_member):
    name = _plain(name, "checkpoint file")
    if not is_member(name):
        raise ValueError(f"{name!r} is not a file of checkpoint {prefix.name}")
    _inside(prefix.parent / name, real, "checkpoint file", want=stat.S_ISREG)
    return name


def _inside(path, real_folder, what, want):
    """Refuse `path` unless it resolves to itself directly inside `real_folder` (no symlink), of kind `want`."""
    try:
        mode = os.stat(path, follow_symlinks=False).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise ValueError(f"{what} {path.name!r}: {exc.strerror}") from None
    if mode is not None and not want(mode):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file or folder as expected"
        raise ValueError(f"{what} {path.name!r} is {kind}")
    if os.path.realpath(path) != os.path.join(real_folder, path.name):
        raise ValueError(f"{what} {path.name!r} resolves outside {real_folder}")


def _replay(prefix, record, is_member):
    """Run the journal's steps, every name checked first; each is skipped if already done, so this may run
    again after a kill."""
    try:
        partial, moves, first, last = _checked(prefix, record, is_member)
    except ValueError as exc:
        raise WeightsError(journal_path(prefix), f"not an install journal slimcompat wrote ({exc}); refusing "
                                                 f"to act on it, nothing was changed: remove it if no install "
                                                 f"was interrupted here") from None
    folder = prefix.parent
    done = {dst.name for src, dst in moves if not src.exists()}
    for name in first:
        if name not in done:
            (folder / name).unlink(missing_ok=True)
    for src, dst in moves:
        if src.exists():
            os.replace(src, dst)
        elif not dst.exists():
            raise WeightsError(prefix, f"an interrupted install cannot be finished: {src} is gone; "
                                       f"{journal_path(prefix).name} lists what was being installed")
    for name in last:
        (folder / name).unlink(missing_ok=True)
    fsync_folder(folder)
    shutil.rmtree(partial, ignore_errors=True)


@contextlib.contextmanager
def installing(prefix, is_member):
    """Hold the journal of `prefix`; yields `commit(partial, moves, first=(), last=())`.

    Inside the block no other installer changes the prefix, so the caller can
    decide what to replace. commit moves files of the folder `partial` (flushed
    already) into place: moves [(file in partial, destination name)] in order;
    first: names removed before the moves unless a move has put its own file
    there; last: names removed after them. is_member(name): whether a name in
    the prefix's folder is one of its files (what a journal may touch). The
    record is flushed before any step runs. An existing journal is an
    interrupted install (finished first) or a live one (waited for). If a step
    fails, the journal stays for `recover`.
    """
    prefix = pathlib.Path(prefix)
    journal = journal_path(prefix)
    fd, tmp = tempfile.mkstemp(prefix=f".{prefix.name}.", suffix=".partial" + _SUFFIX, dir=prefix.parent)
    committed = []

    def commit(partial, moves, first=(), last=()):
        record = _record(partial, moves, first, last)
        _checked(prefix, record, is_member)  # our own steps obey the rule a replay enforces
        os.write(fd, json.dumps(record).encode())
        os.fsync(fd)
        committed.append(True)
        _replay(prefix, record, is_member)

    try:
        _flock(fd)
        for _ in range(3):
            try:
                os.link(tmp, journal)
                break
            except FileExistsError:
                recover(prefix, is_member)
        else:
            raise WeightsError(prefix, "another slimcompat process keeps installing a checkpoint here; "
                                       "try again when it has finished")
        try:
            yield commit
        except BaseException:
            if not committed and _same_file(journal, fd):
                journal.unlink()
            raise
        journal.unlink()
        fsync_folder(prefix.parent)
    finally:
        pathlib.Path(tmp).unlink(missing_ok=True)
        os.close(fd)


@contextlib.contextmanager
def _opened(prefix, shared):
    """Yield (journal path, locked fd) of the journal still in place after the lock, else (path, None)."""
    journal = journal_path(prefix)
    try:
        mode = os.stat(journal, follow_symlinks=False).st_mode
    except (FileNotFoundError, NotADirectoryError):
        yield journal, None
        return
    if not stat.S_ISREG(mode):
        raise WeightsError(journal, "not an install journal slimcompat wrote (not a regular file); refusing "
                                    "to act on it, nothing was changed: remove it if no install was "
                                    "interrupted here")
    try:
        fd = os.open(journal, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        yield journal, None
        return
    try:
        _flock(fd, shared)
        yield journal, (fd if _same_file(journal, fd) else None)  # else its installer finished meanwhile
    finally:
        os.close(fd)


def check_settled(prefix):
    """Raise WeightsError if an install at `prefix` was interrupted; wait for a live one. Changes nothing."""
    prefix = pathlib.Path(prefix)
    with _opened(prefix, shared=True) as (journal, fd):
        if fd is not None:
            raise WeightsError(prefix, f"an interrupted install is pending here ({journal.name}); its files "
                                       f"may be half old, half new: finish it with slimcompat convert "
                                       f"--recover {prefix}, then read again")


def recover(prefix, is_member):
    """Finish an install at `prefix` that a killed process left (True), after waiting for a live one.

    A journal naming anything the installer could not have written is refused
    (WeightsError) and nothing is touched.
    """
    prefix = pathlib.Path(prefix)
    with _opened(prefix, shared=False) as (journal, fd):
        if fd is None:
            return False
        raw = os.read(fd, _LIMIT + 1)
        if len(raw) > _LIMIT:
            raise WeightsError(journal, f"not an install journal slimcompat wrote (over {_LIMIT} bytes); "
                                        f"refusing to act on it, nothing was changed")
        try:
            record = json.loads(raw)
        except ValueError:
            record = None  # killed while writing it: no step had run
        if record is not None:
            _replay(prefix, record, is_member)
        journal.unlink()
        fsync_folder(prefix.parent)
        return True
