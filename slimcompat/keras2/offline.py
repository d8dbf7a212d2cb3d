"""`get_file` without the network: the files a program would download, found locally and checked.

Keras-era programs fetch pretrained weights and data sets with `get_file(fname,
origin, md5_hash=... | file_hash=...)`, also inside `keras.datasets.*.load_data`.
Inside `slimcompat run` (or with SLIMCOMPAT_OFFLINE=1 after `import
slimcompat.keras2`) both Keras' `get_file`s (tf-keras and Keras 3) are replaced,
in their defining modules before anything imports them, by one that:

1. looks for the file by name: first where Keras itself caches it
   (`$KERAS_HOME` or `~/.keras`, then `cache_subdir`), then in each directory the
   user names (`--weights-dir DIR`, SLIMCOMPAT_WEIGHTS_DIR), as the cache name,
   `fname` or the origin's file name, directly or under `cache_subdir`;
2. checks the hash the program passes (md5 or sha256, as Keras decides them);
   a file that does not match is refused in one line, unless the user vouches
   for that very file by the sha256 of its bytes (`--trust-file NAME=SHA256`,
   SLIMCOMPAT_TRUST_FILE);
3. puts the chosen file where Keras caches it (as a download would) and lets
   the real `get_file` finish from there, so extraction (`untar`, `extract`)
   and the returned path are exactly Keras' own.

It never touches the network. A file found nowhere is one line naming it, its
expected hash and where to put it.
"""

import dataclasses
import functools
import hashlib
import inspect
import os
import shutil
import sys
import tempfile
import urllib.parse
from typing import Dict, Tuple

from slimcompat.errors import SlimcompatError
from slimcompat.runtime.activation import after_import

__all__ = ["OfflineFileError", "Settings", "install", "DEFINING_MODULES"]

# The module that defines each Keras' get_file; everything else imports it from there.
DEFINING_MODULES = ("tf_keras.src.utils.data_utils", "keras.src.utils.file_utils")
_CHUNK = 1 << 20


class OfflineFileError(SlimcompatError):
    """A file a program asked get_file for is missing locally or is not the one it expects."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where to look besides the Keras cache, and which files the user vouches for."""

    dirs: Tuple[str, ...] = ()
    trusted: Dict[str, str] = dataclasses.field(default_factory=dict)
    verbose: bool = False

    @classmethod
    def from_env(cls, dirs=(), trusted=None, verbose=False):
        """Settings from SLIMCOMPAT_WEIGHTS_DIR / SLIMCOMPAT_TRUST_FILE, plus the given ones (first)."""
        env_dirs = [d for d in os.environ.get("SLIMCOMPAT_WEIGHTS_DIR", "").split(os.pathsep) if d]
        vouched = parse_trust(t for t in os.environ.get("SLIMCOMPAT_TRUST_FILE", "").split(",") if t)
        vouched.update(trusted or {})
        return cls(tuple(dirs) + tuple(env_dirs), vouched, verbose)


def parse_trust(entries):
    """{file name: sha256} from NAME=SHA256 strings; ValueError on a malformed one."""
    found = {}
    for entry in entries:
        name, sep, digest = entry.strip().rpartition("=")
        digest = digest.lower()
        if not sep or not name or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"--trust-file {entry!r}: expected NAME=SHA256 (the 64 hex digits of the file's sha256)")
        found[name] = digest
    return found


def install(settings):
    """Answer get_file offline with `settings` from now on, in every Keras imported now or later."""
    global _SETTINGS
    _SETTINGS = settings
    for name in DEFINING_MODULES:
        after_import(name, _patch)


_SETTINGS = Settings()


def _patch(module):
    original = module.get_file
    if getattr(original, "_slimcompat_offline", False):
        return
    replacement = _offline(original)
    for other in list(sys.modules.values()):
        if getattr(other, "__dict__", {}).get("get_file") is original:
            other.get_file = replacement


def _offline(original):
    signature = inspect.signature(original)
    keras3 = original.__module__.startswith("keras.")

    @functools.wraps(original)
    def get_file(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        chosen, target = _choose(arguments, keras3, _SETTINGS)
        if os.path.realpath(chosen) != os.path.realpath(target):
            _place(chosen, target)
        arguments.update(origin=_uri(target), md5_hash=None, file_hash=None)
        return original(**arguments)

    get_file._slimcompat_offline = True
    return get_file


def _choose(arguments, keras3, settings):
    """(the verified local file, where Keras caches it) for one get_file call; OfflineFileError if none."""
    origin = arguments.get("origin") or ""
    fname = os.fspath(arguments.get("fname") or "") or os.path.basename(urllib.parse.urlsplit(origin).path)
    target = _cache_target(arguments, fname, keras3)
    algorithm, expected = _expected_hash(arguments)
    subdir = arguments.get("cache_subdir") or ""
    names = list(dict.fromkeys([os.path.basename(target), fname,
                                os.path.basename(urllib.parse.urlsplit(origin).path)]))
    candidates = [target] + [os.path.join(d, *part, name) for d in settings.dirs
                             for part in ((), (subdir,)) for name in names if name]
    found = list(dict.fromkeys(c for c in candidates if os.path.isfile(c)))
    if not found:
        wanted = f" ({algorithm} {expected})" if expected else ""
        raise OfflineFileError(
            f"get_file: {fname}{wanted} is not available offline and slimcompat never downloads: put it at "
            f"{target} or in a directory given by --weights-dir or SLIMCOMPAT_WEIGHTS_DIR (origin {origin})")
    refusals = []
    for path in found:
        vouched = settings.trusted.get(os.path.basename(path)) or settings.trusted.get(fname)
        if expected is None and vouched is None:
            return path, target
        actual = _digest(path, algorithm) if expected else None
        if expected and actual == expected:
            _note(settings.verbose, f"get_file: {fname} from {path} ({algorithm} checked)")
            return path, target
        sha256 = _digest(path, "sha256")
        if vouched == sha256:
            mismatch = f"its {algorithm} {actual} is not the expected {expected}; " if expected else ""
            _note(True, f"get_file: {fname} from {path}: {mismatch}used because --trust-file vouches "
                        f"for sha256 {sha256}")
            return path, target
        if vouched is not None:
            refusals.append(f"{path}: sha256 {sha256} is not the vouched {vouched}")
        else:
            refusals.append(f"{path}: {algorithm} {actual} is not the expected {expected} for {fname}; "
                            f"refused (if you vouch for this exact file: --trust-file {fname}={sha256})")
    raise OfflineFileError("get_file: " + "; ".join(refusals))


def _expected_hash(arguments):
    """(algorithm, lowercase hex) as Keras reads md5_hash / file_hash / hash_algorithm; (None, None) if none."""
    file_hash, algorithm = arguments.get("file_hash"), arguments.get("hash_algorithm") or "auto"
    if arguments.get("md5_hash") is not None and file_hash is None:
        file_hash, algorithm = arguments["md5_hash"], "md5"
    if file_hash is None:
        return None, None
    if algorithm == "auto":
        algorithm = "sha256" if len(file_hash) == 64 else "md5"
    return algorithm, str(file_hash).lower()


def _cache_target(arguments, fname, keras3):
    """Where this Keras' get_file keeps the download (tf-keras and Keras 3 name archives differently)."""
    base = os.path.expanduser(arguments.get("cache_dir") or os.environ.get("KERAS_HOME")
                              or os.path.join("~", ".keras"))
    if not os.access(base, os.W_OK) and os.path.exists(base):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    folder = os.path.join(base, arguments.get("cache_subdir") or "")
    archive = arguments.get("untar") or (keras3 and arguments.get("extract"))
    if not archive:
        return os.path.join(folder, fname)
    if not keras3:
        return os.path.join(folder, fname + ".tar.gz")
    if arguments.get("fname") and "." in fname:
        return os.path.join(folder, fname)
    return os.path.join(folder, fname + "_archive")


def _digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _place(source, target):
    """Copy `source` to `target` as a finished download would appear: complete, or not at all."""
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".partial")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _uri(path):
    return "file://" + urllib.parse.quote(os.path.abspath(path))


def _note(show, line):
    if show:
        print(f"slimcompat: {line}", file=sys.stderr)
