"""The kinds of weight file, one entry each: how to tell one, read its header, read it, write it, check where it goes.

`convert`, `inspect`, `validate` and the Python API (slimcompat.load, ...)
ask this registry and nothing else, so a kind (ONNX initializers, timm's
names) is one Format subclass and one `register` call: its name becomes a
`--from`/`--to` choice, `detect` tries it, and its destination suffixes pick
it. Detection tries the kinds that are files first (in registration order),
then the others (checkpoints named by a prefix or folder); a kind that
`refines` another (tf.keras object checkpoints are TF checkpoints) is tried
where that one is found, first. All of them ask one Probe, so each file is
opened once however many kinds look at it.

`identify` is the one search every reader whose file names no description
uses: the first candidate description that fits the file exactly, else the
closest one's MappingError.
"""

import pathlib

import numpy as np

from slimcompat.errors import MappingError, SlimcompatError, WeightsError
from slimcompat.weights.probe import Probe

__all__ = ["Format", "Header", "register", "unregister", "get", "kinds", "detect", "for_destination", "identify",
           "convert_command"]


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


_REGISTRY = {}


def register(fmt):
    """Add a kind (a Format instance); returns it. A kind of the same name is replaced."""
    if not fmt.name:
        raise SlimcompatError(f"{type(fmt).__name__}: a format needs a name")
    _REGISTRY[fmt.name] = fmt
    return fmt


def unregister(name):
    _REGISTRY.pop(name, None)


def kinds():
    """The registered kinds' names, in registration order."""
    return tuple(_REGISTRY)


def get(kind):
    """The Format named `kind`; SlimcompatError naming the known ones otherwise."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise SlimcompatError(f"unknown kind {kind!r}; known: {', '.join(_REGISTRY)}") from None


def detect(path):
    """The kind of the file at `path`; WeightsError when it is none we read."""
    path = pathlib.Path(path)
    with Probe(path) as probe:
        is_file = path.is_file()
        bases = [f for f in _REGISTRY.values() if f.refines is None]
        for fmt in [f for f in bases if f.files_only] + [f for f in bases if not f.files_only]:
            if (is_file or not fmt.files_only) and fmt.detect(probe):
                refined = [f for f in _REGISTRY.values() if f.refines == fmt.name and f.detect(probe)]
                return (refined[0] if refined else fmt).name
    if not path.exists():
        raise WeightsError(path, "no such file or checkpoint")
    if path.is_dir():
        raise WeightsError(path, "is a folder without a TF checkpoint in it")
    nouns = [f.noun for f in _REGISTRY.values() if f.noun]
    raise WeightsError(path, f"not a {', '.join(nouns[:-1])} or {nouns[-1]}")


def for_destination(path, to=None):
    """The kind to write at `path`: `to`, else the longest registered suffix the name ends with, else a
    registered infix in it (`model.ckpt-1000`), else canonical."""
    if to:
        return to
    name = pathlib.Path(path).name
    suffixes = sorted(((s, f.name) for f in _REGISTRY.values() for s in f.suffixes), key=lambda p: -len(p[0]))
    for suffix, kind in suffixes:
        if name.endswith(suffix):
            return kind
    for fmt in _REGISTRY.values():
        if any(infix in name for infix in fmt.infixes):
            return fmt.name
    return "canonical"


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


# The built-in kinds register themselves, in the order --from and --to list them.
from slimcompat.weights import builtin_kinds  # noqa: E402,F401
