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

from slimcompat.errors import SlimcompatError, WeightsError
from slimcompat.weights import builtin_kinds
from slimcompat.weights.kind import Format, Header, convert_command, identify
from slimcompat.weights.probe import Probe

__all__ = ["Format", "Header", "register", "unregister", "get", "kinds", "detect", "for_destination", "identify",
           "convert_command"]


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


# The built-in kinds, in the order --from and --to list them.
for _entry in builtin_kinds.BUILTIN:
    register(_entry)
del _entry
