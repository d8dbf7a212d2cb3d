"""Any supported weight file in, any supported weight file out, via canonical Weights.

Kinds: `canonical` (this project's HDF5 format), `slim` (TF1 slim checkpoints,
V1 or V2), `keras` (Keras-1, Keras-2 and Keras 3 weight files in; Keras-2
style h5 with modern names, or a `.keras` model of the faithful architecture,
out), `object` (TF-format checkpoints of tf.keras 2.x, in, read through their
object tree: slimcompat.structure.object_tree). Each reader checks its whole name mapping before it returns and each
writer before it writes, so a conversion either completes or leaves nothing.
"""

import pathlib

from slimcompat.errors import SlimcompatError, WeightsError
from slimcompat.weights import canonical

__all__ = ["KINDS", "detect", "load", "save", "kind_for_destination"]

KINDS = ("canonical", "slim", "keras", "object")


def detect(path):
    """The kind of the file at `path`; WeightsError when it is none we read."""
    path = pathlib.Path(path)
    if path.is_file():
        if canonical.is_canonical(path):
            return "canonical"
        from slimcompat.weights import keras_files
        if keras_files.detect(path) is not None:
            return "keras"
    from slimcompat.weights import slim_checkpoint
    if slim_checkpoint.is_slim_checkpoint(path):
        from slimcompat.structure.object_tree import is_object_checkpoint
        return "object" if is_object_checkpoint(path) else "slim"
    if not path.exists():
        raise WeightsError(path, "no such file or checkpoint")
    if path.is_dir():
        raise WeightsError(path, "is a folder without a TF checkpoint in it")
    raise WeightsError(path, "not a canonical file, slim checkpoint or Keras weight file")


def kind_for_destination(path, to=None):
    """Destination kind from --to, else from the extension (default canonical)."""
    if to:
        return to
    name = str(path)
    if name.endswith(".keras") or name.endswith(".weights.h5"):
        return "keras"
    if ".ckpt" in pathlib.Path(name).name:
        return "slim"
    return "canonical"


def load(path, kind=None, arch=None, use_ema=False, progress=None):
    """Canonical Weights from the file at `path` (kind detected when None)."""
    kind = kind or detect(path)
    if kind == "canonical":
        return canonical.read(path, progress=progress)
    if kind == "slim":
        from slimcompat.weights import slim_checkpoint
        return slim_checkpoint.read(path, use_ema=use_ema, arch=arch, progress=progress)
    if kind == "keras":
        from slimcompat.weights import keras_io
        return keras_io.read(path, arch=arch, progress=progress)
    if kind == "object":
        from slimcompat.structure import object_tree
        return object_tree.read(path, arch=arch)
    raise SlimcompatError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")


def save(path, weights, kind="canonical", overwrite=False, progress=None, slim_version="V2"):
    """Write `weights` as `kind` to `path`, atomically."""
    if kind == "canonical":
        return canonical.write(path, weights, overwrite=overwrite, progress=progress)
    if kind == "slim":
        from slimcompat.weights import slim_checkpoint
        return slim_checkpoint.write(path, weights, overwrite=overwrite, version=slim_version, progress=progress)
    if kind == "keras":
        from slimcompat.weights import keras_io
        return keras_io.write(path, weights, overwrite=overwrite, progress=progress)
    if kind == "object":
        raise SlimcompatError(f"{path}: TF-format checkpoints are written by the model's own Keras "
                              f"(slimcompat convert ... --model CODE --to model)")
    raise SlimcompatError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
