"""Any supported weight file in, any supported weight file out, via canonical Weights.

The kinds are the entries of `slimcompat.weights.formats` (canonical, slim,
keras, torch, object: see weights.builtin_kinds); this module is the API the
commands and the Python API call, every function a dispatch through that
registry. Each reader checks its whole name mapping before it returns and
each writer before it writes, so a conversion either completes or leaves
nothing.
"""

import contextlib
import gc
import os

from slimcompat.errors import WeightsError
from slimcompat.weights import canonical, formats  # noqa: F401  (convert.canonical.Weights, as callers have used it)

__all__ = ["KINDS", "detect", "describe_kind", "load", "save", "kind_for_destination", "source_files",
           "check_not_source"]

detect = formats.detect
kind_for_destination = formats.for_destination


def __getattr__(name):
    if name == "KINDS":        # the registered kinds now, kinds registered later included
        return formats.kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def describe_kind(path, kind):
    """A few words on what the file at `path` is, e.g. 'a slim checkpoint (V2: x.ckpt.index, ...)'."""
    return formats.get(kind).describe(path)


def source_files(path, kind=None):
    """The files the source at `path` is read from."""
    return formats.get(kind or detect(path)).source_files(path)


def check_not_source(src, dst, src_kind, dst_kind):
    """Refuse a destination that is one of the source's files (also by another path, link or symlink)."""
    sources = source_files(src, src_kind)
    for target in formats.get(dst_kind).destination_files(dst):
        for source in sources:
            if target.exists() and os.path.samefile(target, source):
                raise WeightsError(dst, f"is the source itself ({source}); write the conversion to another name")


@contextlib.contextmanager
def _no_cycle_collection():
    """Hold Python's cycle collector back for one read or write.

    A read or write makes tens of thousands of small objects (descriptions,
    names, arrays), and each time the collector runs it walks every object the
    process holds: with TensorFlow imported, some 350,000. On a resnet_v2_152
    that took a third of a read (0.15 s of 0.45 s). Reference counting still
    frees everything; cycles wait for the collector's next run after the call.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load(path, kind=None, arch=None, use_ema=False, progress=None):
    """Canonical Weights from the file at `path` (kind detected when None)."""
    with _no_cycle_collection():
        return formats.get(kind or detect(path)).read(path, arch=arch, use_ema=use_ema, progress=progress)


def save(path, weights, kind="canonical", overwrite=False, progress=None, slim_version="V2",
         torch_target="torchvision"):
    """Write `weights` as `kind` to `path`, atomically (torch_target: see torch_io.TARGETS)."""
    with _no_cycle_collection():
        return formats.get(kind).write(path, weights, overwrite=overwrite, progress=progress,
                                       slim_version=slim_version, torch_target=torch_target)
