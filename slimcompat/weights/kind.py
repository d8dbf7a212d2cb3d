"""What a kind of weight file is to slimcompat (a `Format`: detect, describe, read, read_header, write,
check_destination), and the searches every reader shares: `identify` (the description a file that names none
fits) and `convert_command` (the way out a refusal names). The registry of kinds is slimcompat.weights.formats.
"""

import pathlib

import numpy as np

from slimcompat.errors import MappingError, SlimcompatError, WeightsError

__all__ = ["Format", "Header", "identify", "convert_command"]


class Header:
    """What `inspect` shows without reading tensor data: metadata, {name: (shape, dtype)}, a detail line."""

    def __init__(self, meta, shapes, detail):
        self.meta, self.shapes, self.detail = meta, shapes, detail

    def totals(self):
        """(tensors, parameters, bytes) the shapes and dtypes add up to."""
        params = int(sum(int(np.prod(s)) for s, _ in self.shapes.values()))
        nbytes = int(sum(int(np.prod(s)) * np.dtype(d).itemsize for s, d in self.shapes.values()))
        return len(self.shapes), params, nbytes


class Format:
    """One kind of weight file. Subclasses set `name` and implement what their kind does."""

    name = ""
    noun = None             # how the "not any kind we read" message names it (None: another kind's noun covers it)
    files_only = True       # detected only where the path is a file (a checkpoint prefix is not)
    refines = None          # the kind this one is a special case of (tried first where that one is detected)
    suffixes = ()           # destination names ending so are written as this kind
    infixes = ()            # ... or containing this, where no suffix decides
    folder_example = ".h5"  # the suffix suggested when the destination given is a folder

    def detect(self, probe):
        """Whether probe.path is a file of this kind (WeightsError where it starts as one but is broken)."""
        raise NotImplementedError

    def describe(self, path):
        """A few words on what the file is, e.g. 'a slim checkpoint (V1 file)'."""
        raise NotImplementedError

    def read(self, path, arch=None, use_ema=False, progress=None):
        """Canonical Weights of the file, its whole name mapping checked first."""
        raise NotImplementedError

    def read_header(self, path):
        """A Header without tensor data read, or None where the kind has no header to read (then `read`)."""
        return None

    def write(self, path, weights, overwrite=False, progress=None, **options):
        raise SlimcompatError(f"{path}: slimcompat does not write {self.name} files")

    def check_destination(self, path, overwrite=False):
        """Raise WeightsError unless a file of this kind may be written at `path`."""
        from slimcompat.weights.atomic import check_destination
        check_destination(path, overwrite)

    def source_files(self, path):
        """The files a read of `path` reads."""
        return [pathlib.Path(path)]

    def destination_files(self, path):
        """The files a write to `path` would replace."""
        return [pathlib.Path(path)]

    def check_names(self, path):
        """Raise WeightsRefusal where the file's names follow no naming slimcompat knows (kinds that guess)."""

    def convert_hint(self, path):
        """The command that converts the file to a canonical one."""
        return convert_command(path, own_model=False)


def identify(candidates, fit, none):
    """The first candidate description `fit` accepts: fit(candidate) returns the reader's result, None where
    the candidate does not apply at all, or raises MappingError; failing all, the MappingError of the
    closest (fewest missing, unexpected and misshapen tensors), or none() where none applied."""
    best = None
    for candidate in candidates:
        try:
            found = fit(candidate)
        except MappingError as exc:
            score = len(exc.missing) + len(exc.unexpected) + len(exc.mismatched)
            if best is None or score < best[0]:
                best = (score, exc)
            continue
        if found is not None:
            return found
    if best is None:
        raise none()
    raise best[1]


def convert_command(path, own_model=True):
    """The command converting `path` to a canonical file beside it; through the model's code when `own_model`
    (the way out when its names are unknown)."""
    path = pathlib.Path(path)
    stem = path.name.split(".")[0]
    target = path.with_name(f"{stem}.h5" if f"{stem}.h5" != path.name else f"{stem}.canonical.h5")
    return f"slimcompat convert {path} {target}" + (" --model PATH.py:NAME" if own_model else "")
