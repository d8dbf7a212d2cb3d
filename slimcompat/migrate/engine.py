"""Which files to migrate, where each goes, and writing them safely.

In place, each changed file's original is kept beside it as `NAME.tf1.bak`
(an existing backup is never overwritten: it holds the TF1 original from the
first run). With an output directory the originals are only read; the tree
is mirrored under it, relative to the deepest folder holding every input,
and files other than Python are copied. Every write goes to a temporary file
in the target folder and is moved over the target with os.replace, so an
interrupted run never leaves a half-written file. A file that fails is
reported and left as it was; the others are still processed.
"""

import io
import os
import shutil
import tempfile
import tokenize

from slimcompat.migrate.report import ERROR, Entry, FileResult, Report

__all__ = ["migrate_paths", "migrate_file", "BACKUP_SUFFIX"]

BACKUP_SUFFIX = ".tf1.bak"
_SKIPPED_DIRS = {"__pycache__", ".git", ".hg", ".svn"}


def migrate_paths(paths, output_dir=None):
    """Migrate files and folders; return the Report. See the module doc."""
    report = Report()
    for source, destination, python in _jobs(paths, output_dir, report):
        if python:
            report.files.append(_migrate_file(source, destination))
        else:
            report.files.append(_copy(source, destination))
    return report


def migrate_file(source, destination):
    """Migrate one file into `destination` (tf_upgrade_v2's --infile/--outfile); the source is only read."""
    if os.path.realpath(source) == os.path.realpath(destination):
        raise ValueError(f"{destination} is the source file; give it alone to migrate in place")
    report = Report()
    report.files.append(_migrate_file(source, destination))
    return report


def _jobs(paths, output_dir, report):
    """(source, destination, is_python) for every file, each source once."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            found += [(f, f.endswith(".py")) for f in _walk(path, output_dir)]
        elif os.path.isfile(path):
            found.append((path, True))
        else:
            report.files.append(FileResult(path, path, "failed", [
                Entry(path, 0, 0, ERROR, "no such file or directory")]))
    if output_dir is not None:
        base = os.path.commonpath([os.path.abspath(p if os.path.isdir(p) else os.path.dirname(p))
                                   for p in paths if os.path.exists(p)] or [os.getcwd()])
        if os.path.realpath(output_dir) == os.path.realpath(base):
            raise ValueError(f"--output {output_dir} is the input folder; "
                             "leave --output out to migrate in place")
    seen = set()
    for source, python in found:
        real = os.path.realpath(source)
        if real in seen:
            continue
        seen.add(real)
        if output_dir is None:
            if python:
                yield source, source, True
        else:
            yield source, os.path.join(output_dir, os.path.relpath(os.path.abspath(source), base)), python


def _walk(root, output_dir):
    skip_real = os.path.realpath(output_dir) if output_dir is not None else None
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS
                         and os.path.realpath(os.path.join(folder, d)) != skip_real)
        for name in sorted(files):
            if not name.endswith(BACKUP_SUFFIX):
                yield os.path.join(folder, name)


def _migrate_file(source, destination):
    from slimcompat.migrate.source import ParseError, migrate_source

    in_place = destination == source
    try:
        with open(source, "rb") as handle:
            raw = handle.read()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        newline = "\r\n" if b"\r\n" in raw else "\n"
        text = raw.decode(encoding).replace("\r\n", "\n")
        new_text, logs = migrate_source(text, source)
    except ParseError as error:
        return _failed(source, destination, in_place, str(error), error.line, error.col)
    except (SyntaxError, UnicodeDecodeError, LookupError, OSError) as error:
        return _failed(source, destination, in_place, f"cannot read: {error}")
    except Exception as error:  # a bug here must not stop the other files
        return _failed(source, destination, in_place,
                       f"internal error: {type(error).__name__}: {error}")
    entries = sorted((Entry(source, line, col, level, message)
                      for level, line, col, message in logs), key=lambda e: (e.line, e.col))
    changed = new_text != text
    result = FileResult(source, destination, "changed" if changed else "unchanged", entries)
    data = new_text.replace("\n", newline).encode(encoding) if changed else raw
    try:
        if not in_place:
            _write(destination, data, like=source)
        elif changed:
            result.backup = _backup(source, raw)
            _write(os.path.realpath(source), data, like=source)
    except OSError as error:
        result.status = "failed"
        result.entries.append(Entry(source, 0, 0, ERROR, f"cannot write: {error}"))
    return result


def _backup(source, raw):
    """Keep the original beside the file (beside a symlink's target); never overwrite."""
    target = os.path.realpath(source) if os.path.islink(source) else source
    backup = target + BACKUP_SUFFIX
    if not os.path.exists(backup):
        _write(backup, raw, like=source)
    return backup


def _failed(source, destination, in_place, message, line=0, col=0):
    message = " ".join(message.split())
    result = FileResult(source, destination, "failed",
                        [Entry(source, line, col, ERROR, f"{message}; file left untouched")])
    if not in_place:
        _copy(source, destination)
    return result


def _copy(source, destination):
    with open(source, "rb") as handle:
        _write(destination, handle.read(), like=source)
    return FileResult(source, destination, "copied")


def _write(path, data, like):
    """Write `data` to `path` atomically, with the permission bits of `like`."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        shutil.copymode(like, temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
