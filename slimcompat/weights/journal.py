"""Install several files at one name prefix so that a kill at any moment loses nothing.

One file is replaced atomically by a rename; a V2 checkpoint (`x.index` plus
`x.data-*`) is several files, and when new files take old names there is a
moment where the old set is gone and the new one incomplete. So the install is
journaled: the new files are finished and flushed in a temporary folder first
(the old ones untouched), then `.NAME.install` is written beside the prefix
listing every step, and then the steps run. The steps are idempotent; a
process killed among them leaves the journal, and the next slimcompat command
that touches the prefix (`recover`) replays them from the start, so the
prefix ends with the new set complete. Killed before the journal was complete,
the old set is untouched and the journal is dropped.

The journal is locked (flock) while its installer runs, so a reader waits for
a live install to end instead of replaying it; it is created with a hard link,
so two installers never hold it together.
"""

import contextlib
import json
import os
import pathlib
import shutil
import tempfile

from slimcompat.errors import WeightsError
from slimcompat.weights.atomic import fsync_folder

try:
    import fcntl
except ImportError:  # no advisory locks (Windows): recovery trusts that no other installer runs
    fcntl = None

__all__ = ["installing", "recover", "journal_path"]

_SUFFIX = ".install"
_FORMAT = "slimcompat-install/1"


def journal_path(prefix):
    prefix = pathlib.Path(prefix)
    return prefix.with_name(f".{prefix.name}{_SUFFIX}")


def _flock(fd):
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def _same_file(path, fd):
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _record(partial, moves, first, last):
    return {"format": _FORMAT, "partial": pathlib.Path(partial).name,
            "moves": [[pathlib.Path(src).name, dst] for src, dst in moves],
            "first": list(first), "last": list(last)}


def _replay(prefix, record):
    """Run the journal's steps; each is skipped if already done, so this may run again after a kill."""
    folder = prefix.parent
    partial = folder / record["partial"]
    moves = [(partial / src, folder / dst) for src, dst in record["moves"]]
    done = {dst.name for src, dst in moves if not src.exists()}
    for name in record["first"]:
        if name not in done:
            (folder / name).unlink(missing_ok=True)
    for src, dst in moves:
        if src.exists():
            os.replace(src, dst)
        elif not dst.exists():
            raise WeightsError(prefix, f"an interrupted install cannot be finished: {src} is gone; "
                                       f"{journal_path(prefix).name} lists what was being installed")
    for name in record["last"]:
        (folder / name).unlink(missing_ok=True)
    fsync_folder(folder)
    shutil.rmtree(partial, ignore_errors=True)


@contextlib.contextmanager
def installing(prefix):
    """Hold the journal of `prefix`; yields `commit(partial, moves, first=(), last=())`.

    Inside the block no other installer changes the prefix, so the caller can
    decide what to replace. commit moves files of the folder `partial` (flushed
    already) into place: moves [(file in partial, destination name)] in order;
    first: names removed before the moves unless a move has put its own file
    there; last: names removed after them. The record is flushed before any
    step runs. An existing journal is an interrupted install (finished first)
    or a live one (waited for). If a step fails, the journal stays for the next
    command to finish.
    """
    prefix = pathlib.Path(prefix)
    journal = journal_path(prefix)
    fd, tmp = tempfile.mkstemp(prefix=f".{prefix.name}.", suffix=".partial" + _SUFFIX, dir=prefix.parent)
    committed = []

    def commit(partial, moves, first=(), last=()):
        record = _record(partial, moves, first, last)
        os.write(fd, json.dumps(record).encode())
        os.fsync(fd)
        committed.append(True)
        _replay(prefix, record)

    try:
        _flock(fd)
        for _ in range(3):
            try:
                os.link(tmp, journal)
                break
            except FileExistsError:
                recover(prefix)
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


def recover(prefix):
    """Finish an install at `prefix` that a killed process left, or wait for a live one; True if any."""
    prefix = pathlib.Path(prefix)
    journal = journal_path(prefix)
    try:
        fd = os.open(journal, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        _flock(fd)
        if not _same_file(journal, fd):
            return True  # its installer finished while we waited
        raw = os.read(fd, 1 << 20)
        try:
            record = json.loads(raw)
            complete = isinstance(record, dict) and record.get("format") == _FORMAT
        except ValueError:
            complete = False
        if complete:
            _replay(prefix, record)
        # else: killed before the journal was written; nothing had changed
        journal.unlink()
        fsync_folder(prefix.parent)
        return True
    finally:
        os.close(fd)
