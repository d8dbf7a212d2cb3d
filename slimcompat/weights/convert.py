"""Any supported weight file in, any supported weight file out, via canonical Weights.

Kinds: `canonical` (this project's HDF5 format), `slim` (TF1 slim checkpoints,
V1 or V2), `keras` (Keras-1, Keras-2 and Keras 3 weight files in; Keras-2
style h5 with modern names, or a `.keras` model of the faithful architecture,
out), `torch` (PyTorch state_dicts in safetensors: torchvision's ResNets, or
slimcompat's faithful PyTorch module; see torch_io), `object` (TF-format
checkpoints of tf.keras 2.x, in, read through their object tree:
slimcompat.weights.object_tree). Each reader checks its whole name mapping before it returns and each
writer before it writes, so a conversion either completes or leaves nothing.
"""

import os
import pathlib

from slimcompat.errors import SlimcompatError, WeightsError
from slimcompat.weights import canonical

__all__ = ["KINDS", "detect", "describe_kind", "load", "save", "kind_for_destination", "source_files",
           "check_not_source"]

KINDS = ("canonical", "slim", "keras", "torch", "object")


def detect(path):
    """The kind of the file at `path`; WeightsError when it is none we read."""
    path = pathlib.Path(path)
    if path.is_file():
        if canonical.is_canonical(path):
            return "canonical"
        from slimcompat.weights import keras_files
        if keras_files.detect(path) is not None:
            return "keras"
        from slimcompat.weights import torch_io
        if torch_io.is_torch_file(path) or path.suffix == ".safetensors":
            return "torch"
    from slimcompat.weights import slim_checkpoint
    if slim_checkpoint.is_slim_checkpoint(path):
        from slimcompat.weights.object_tree import is_object_checkpoint
        return "object" if is_object_checkpoint(path) else "slim"
    if not path.exists():
        raise WeightsError(path, "no such file or checkpoint")
    if path.is_dir():
        raise WeightsError(path, "is a folder without a TF checkpoint in it")
    raise WeightsError(path, "not a canonical file, slim checkpoint, Keras weight file or safetensors state_dict")


def describe_kind(path, kind):
    """A few words on what the file at `path` is, e.g. 'a slim checkpoint (V2, prefix x.ckpt)'."""
    if kind == "slim":
        from slimcompat.weights import slim_checkpoint
        files = slim_checkpoint.checkpoint_files(path)
        if files[0].name.endswith(".index"):
            return f"a slim checkpoint (V2: {', '.join(p.name for p in files)})"
        return "a slim checkpoint (V1 file)"
    if kind == "keras":
        from slimcompat.weights import keras_files
        labels = {"keras1": "Keras 1 weight file", "keras2": "Keras 2 weight file", "keras3": "Keras 3 weight file"}
        label = labels[keras_files.detect(path)]
        return f"a {label}" + (" (.keras model)" if str(path).endswith(".keras") else "")
    return {"torch": "a safetensors state_dict", "object": "a tf.keras TF-format checkpoint"}.get(
        kind, "a canonical weight file")


def kind_for_destination(path, to=None):
    """Destination kind from --to, else from the name: `.keras`/`.weights.h5` Keras,
    `.h5`/`.hdf5` canonical (also `model.ckpt.h5`), `.ckpt` anywhere else in the name
    (`model.ckpt`, `model.ckpt-1000`) a slim checkpoint, anything else canonical."""
    if to:
        return to
    name = pathlib.Path(path).name
    if name.endswith(".keras") or name.endswith(".weights.h5"):
        return "keras"
    if name.endswith(".safetensors"):
        return "torch"
    if name.endswith((".h5", ".hdf5")):
        return "canonical"
    if ".ckpt" in name:
        return "slim"
    return "canonical"


def source_files(path, kind=None):
    """The files the source at `path` is read from."""
    kind = kind or detect(path)
    if kind == "slim":
        from slimcompat.weights import slim_checkpoint
        return slim_checkpoint.checkpoint_files(path)
    return [pathlib.Path(path)]


def _destination_files(path, kind):
    if kind != "slim":
        return [pathlib.Path(path)]
    from slimcompat.weights import slim_checkpoint
    return slim_checkpoint.existing_files(pathlib.Path(path))


def check_not_source(src, dst, src_kind, dst_kind):
    """Refuse a destination that is one of the source's files (also by another path, link or symlink)."""
    sources = source_files(src, src_kind)
    for target in _destination_files(dst, dst_kind):
        for source in sources:
            if target.exists() and os.path.samefile(target, source):
                raise WeightsError(dst, f"is the source itself ({source}); write the conversion to another name")


def load(path, kind=None, arch=None, use_ema=False, progress=None):
    """Canonical Weights from the file at `path` (kind detected when None)."""
    kind = kind or detect(path)
    if kind == "canonical":
        weights = canonical.read(path, progress=progress)
        _check_recorded(path, weights, arch)
        return weights
    if kind == "slim":
        from slimcompat.weights import slim_checkpoint
        return slim_checkpoint.read(path, use_ema=use_ema, arch=arch, progress=progress)
    if kind == "keras":
        from slimcompat.weights import keras_io
        return keras_io.read(path, arch=arch, progress=progress)
    if kind == "torch":
        from slimcompat.weights import torch_io
        return torch_io.read(path, arch=arch, progress=progress)
    if kind == "object":
        from slimcompat.weights import object_tree
        return object_tree.read(path, arch=arch)
    raise SlimcompatError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")


def _check_recorded(path, weights, arch):
    """A canonical file records its description: an --arch naming another network is a mistake, said so."""
    if arch is None:
        return
    from slimcompat.arch import describe
    named = describe(arch)
    if named.name != weights.meta.architecture:
        raise WeightsError(path, f"the file records {weights.meta.architecture}, not {named.name}: a canonical "
                                 f"file carries its own description; leave --arch out")


def save(path, weights, kind="canonical", overwrite=False, progress=None, slim_version="V2",
         torch_target="torchvision"):
    """Write `weights` as `kind` to `path`, atomically (torch_target: see torch_io.TARGETS)."""
    if kind == "canonical":
        return canonical.write(path, weights, overwrite=overwrite, progress=progress)
    if kind == "slim":
        from slimcompat.weights import slim_checkpoint
        return slim_checkpoint.write(path, weights, overwrite=overwrite, version=slim_version, progress=progress)
    if kind == "keras":
        from slimcompat.weights import keras_io
        return keras_io.write(path, weights, overwrite=overwrite, progress=progress)
    if kind == "torch":
        from slimcompat.weights import torch_io
        return torch_io.write(path, weights, overwrite=overwrite, progress=progress, target=torch_target)
    if kind == "object":
        raise SlimcompatError(f"{path}: TF-format checkpoints are written by the model's own Keras "
                              f"(slimcompat convert ... --model CODE --to model)")
    raise SlimcompatError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
