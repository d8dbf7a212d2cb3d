"""The canonical tensor layout against the layouts other code keeps, exactly and in both directions.

- Grouped kernels: canonical stores a grouped conv's kernel once, [k, k, in/groups,
  out], the groups side by side along the last axis; code that keeps one kernel
  per group (seed 002's ResNeXt: split the channels, one Conv2D per group,
  concatenate) maps to it with `merge_groups` / `split_groups`.
- PyTorch: OIHW kernels, dense [classes, features], BatchNorm's
  `num_batches_tracked`, under the torchvision naming scheme (`state_dict` /
  `canonical_tensors`).
"""

import numpy as np

from slimcompat.arch import ops
from slimcompat.arch.schemes import scheme
from slimcompat.arch.templates import UnknownNameError
from slimcompat.errors import MappingError, SlimcompatError

__all__ = ["merge_groups", "split_groups", "state_dict", "canonical_tensors", "shape_from_torch", "TORCH_NAMING"]

TORCH_NAMING = "torchvision"
_TRACKED = "num_batches_tracked"
_TO_TORCH = {4: (3, 2, 0, 1), 2: (1, 0)}       # HWIO -> OIHW; dense [features, classes] -> [classes, features]
_FROM_TORCH = {4: (2, 3, 1, 0), 2: (1, 0)}


def merge_groups(kernels):
    """One grouped kernel [k, k, in/g, out] from per-group kernels [k, k, in/g, out/g] (or biases [out/g]).

    Seed 002's ResNeXt splits its input into g slices, runs one Conv2D per
    slice and concatenates the outputs in order: exactly a grouped conv whose
    output channels i*out/g .. (i+1)*out/g belong to group i.
    """
    shapes = {np.shape(k) for k in kernels}
    if len(shapes) != 1:
        raise SlimcompatError(f"per-group tensors must share one shape, found {sorted(shapes)}")
    return np.concatenate([np.asarray(k) for k in kernels], axis=-1)


def split_groups(kernel, groups):
    """The inverse of merge_groups: `groups` per-group kernels (or biases) of a grouped one."""
    if np.shape(kernel)[-1] % groups:
        raise SlimcompatError(f"{np.shape(kernel)[-1]} output channels do not split into {groups} groups")
    return [np.ascontiguousarray(part) for part in np.split(np.asarray(kernel), groups, axis=-1)]


def state_dict(tensors, description):
    """{state_dict key: array in PyTorch layout} of canonical `tensors` (plus each BatchNorm's num_batches_tracked)."""
    bound = scheme(TORCH_NAMING, description)
    out = {}
    for name, value in tensors.items():
        value = np.asarray(value)
        axes = _TO_TORCH.get(value.ndim) if name.endswith("/kernel") else None
        out[bound.tensor(name)] = np.ascontiguousarray(value.transpose(axes) if axes else value)
    for layer in _batch_norms(description):
        out[f"{bound.layer(layer)}.{_TRACKED}"] = np.zeros((), np.int64)
    return out


def shape_from_torch(name, shape):
    """The canonical-layout shape of canonical tensor `name`, held in PyTorch layout as `shape`."""
    axes = _FROM_TORCH.get(len(shape)) if name.endswith("/kernel") else None
    return tuple(shape[i] for i in axes) if axes else tuple(shape)


def _batch_norms(description):
    return [op.layer for op in description.layers() if isinstance(op, ops.BatchNorm)]


def canonical_tensors(tensors, description, where):
    """{canonical name: array in canonical layout} of a state_dict for `description`; MappingError unless its
    names and shapes are exactly the description's (num_batches_tracked allowed, and ignored, on BatchNorms)."""
    bound = scheme(TORCH_NAMING, description)
    tracked = {f"{bound.layer(layer)}.{_TRACKED}" for layer in _batch_norms(description)}
    names, unmapped = {}, {}
    for key, value in tensors.items():
        if key in tracked:
            continue
        try:
            names[bound.canonical_tensor(key)] = key
        except UnknownNameError:
            unmapped[key] = np.shape(value)
    found = {name: shape_from_torch(name, np.shape(tensors[key])) for name, key in names.items()}
    expected = description.tensors()
    missing = [f"{bound.tensor(n)} ({n})" for n in expected if n not in found]
    mismatched = [(f"{names[n]} ({n})", expected[n], found[n]) for n in expected
                  if n in found and tuple(expected[n]) != found[n]]
    if missing or unmapped or mismatched:
        raise MappingError(where, missing, list(unmapped), mismatched)
    out = {}
    for name in expected:
        value = tensors[names[name]]
        axes = _FROM_TORCH.get(value.ndim) if name.endswith("/kernel") else None
        out[name] = np.ascontiguousarray(value.transpose(axes) if axes else value)
    return out, {name: names[name] for name in expected}
