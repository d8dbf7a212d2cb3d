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
3. hands the real `get_file` that file as a `file://` origin, with its sha256
   as the hash to check, so Keras itself copies it into its cache (if it is not
   already the cached copy), verifies it and extracts it (`untar`, `extract`):
   the returned path and the files are exactly what a download would leave.

It never touches the network. A file found nowhere is one line naming it, its
expected hash and where to put it.
"""

import dataclasses
import functools
import hashlib
import inspect
import os
import sys
import tempfile
import urllib.parse
from typing import Dict, Tuple

from slimcompat.errors import SlimcompatError
from slimcompat.runtime.activation import after_import

__all__ = ["OfflineFileError", "Settings", "install", "parse_trust", "DEFINING_MODULES"]

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
        chosen, sha256 = _choose(arguments, keras3, _SETTINGS)
        arguments.update(origin=_uri(chosen), md5_hash=None, file_hash=sha256, hash_algorithm="sha256")
        return original(**arguments)

    get_file._slimcompat_offline = True
    return get_file


def _choose(arguments, keras3, settings):
    """(the verified local file, its sha256) for one get_file call; OfflineFileError if there is none."""
    origin = arguments.get("origin") or ""
    from_origin = os.path.basename(urllib.parse.urlsplit(origin).path)
    fname = os.fspath(arguments.get("fname") or "") or from_origin
    algorithm, expected = _expected_hash(arguments)
    subdir = arguments.get("cache_subdir") or ""
    names = [n for n in dict.fromkeys([fname, fname + ".tar.gz", fname + "_archive", from_origin]) if n]
    caches = [arguments.get("cache_dir")] if arguments.get("cache_dir") else [
        os.environ.get("KERAS_HOME"), os.path.join("~", ".keras"), os.path.join(tempfile.gettempdir(), ".keras")]
    places = [os.path.join(os.path.expanduser(c), subdir) for c in caches if c]
    places += [os.path.join(d, *part) for d in settings.dirs for part in ((), (subdir,))]
    found = list(dict.fromkeys(os.path.join(p, n) for p in places for n in names
                               if os.path.isfile(os.path.join(p, n))))
    if not found:
        wanted = f" ({algorithm} {expected})" if expected else ""
        home = os.environ.get("KERAS_HOME") if keras3 and os.environ.get("KERAS_HOME") else "~/.keras"
        raise OfflineFileError(
            f"get_file: {fname}{wanted} is not available offline and slimcompat never downloads: put it in "
            f"{os.path.join(home, subdir)} or in a directory given by --weights-dir or SLIMCOMPAT_WEIGHTS_DIR "
            f"(origin {origin})")
    refusals = []
    for path in found:
        vouched = settings.trusted.get(os.path.basename(path)) or settings.trusted.get(fname)
        sha256 = _digest(path, "sha256")
        actual = sha256 if algorithm == "sha256" else _digest(path, algorithm) if expected else None
        if (expected is None and vouched is None) or (expected is not None and actual == expected):
            _note(settings.verbose, f"get_file: {fname} from {path}" + (f" ({algorithm} checked)" if expected else ""))
            return path, sha256
        if vouched == sha256:
            mismatch = f"its {algorithm} {actual} is not the expected {expected}; " if expected else ""
            _note(True, f"get_file: {fname} from {path}: {mismatch}used because --trust-file vouches "
                        f"for sha256 {sha256}")
            return path, sha256
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


def _digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _uri(path):
    return "file://" + urllib.parse.quote(os.path.abspath(path))


def _note(show, line):
    if show:
        print(f"slimcompat: {line}", file=sys.stderr)
