"""The canonical tensor layout against the layouts other code keeps, exactly and in both directions.

- Grouped kernels: canonical stores a grouped conv's kernel once, [k, k, in/groups,
  out], the groups side by side along the last axis; code that keeps one kernel
  per group (seed 002's ResNeXt: split the channels, one Conv2D per group,
  concatenate) maps to it with `merge_groups` / `split_groups`.
- Each framework's own layout of a kernel, by the kind of plan op holding it
  (`FRAMEWORK_LAYOUTS`): TensorFlow's is the canonical one; PyTorch's is OIHW
  for a conv, [out, in] for a dense layer, and [channels * multiplier, 1, k, k]
  for a depthwise conv (a grouped conv with one group per input channel).
- One rule for a target that holds a kernel in another rank than the canonical
  with as many elements (VGG's fc6, a 7x7 conv in slim, is Keras' Dense
  [25088, 4096] and torchvision's Linear [4096, 25088]; a classifier held as a
  1x1 conv): the kernel is first put in the target framework's own layout for
  the canonical op's kind, then reshaped (`to_framework` / `from_framework`,
  the same rule read both ways). Flattening HWIO gives H, W, C order, as
  TensorFlow flattens NHWC; flattening OIHW gives C, H, W, as PyTorch flattens
  NCHW, so each framework's own flatten meets its own kernel.
- PyTorch state_dicts: BatchNorm's `num_batches_tracked`, under the torchvision
  naming scheme or timm's (`state_dict` / `canonical_tensors`).
"""

import math

import numpy as np

from slimcompat.arch import ops
from slimcompat.arch.schemes import scheme
from slimcompat.arch.templates import UnknownNameError
from slimcompat.errors import MappingError, SlimcompatError

__all__ = ["merge_groups", "split_groups", "state_dict", "canonical_tensors", "shape_from_torch", "TORCH_NAMING",
           "FRAMEWORK_LAYOUTS", "kernel_kinds", "framework_shape", "held_shape", "to_framework", "from_framework",
           "held_shapes"]

TORCH_NAMING = "torchvision"
_TRACKED = "num_batches_tracked"
KERNEL_PARAMS = ("kernel", "depthwise_kernel")

# framework -> plan op kind -> (transpose from canonical, merge the first two axes into [a * b, 1, ...]).
# A kind not listed is held as the canonical holds it.
FRAMEWORK_LAYOUTS = {
    "tensorflow": {},
    "torch": {"conv": ((3, 2, 0, 1), False), "dense": ((1, 0), False), "depthwiseconv": ((2, 3, 0, 1), True)},
}


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


def kernel_kinds(description):
    """{canonical kernel tensor: kind of the plan op holding it ("conv", "depthwiseconv", "dense")}."""
    out = {}
    for op in description.layers():
        for name, _ in op.tensors():
            if name.rpartition("/")[2] in KERNEL_PARAMS:
                out[name] = type(op).__name__.lower()
    return out


def _rule(kind, framework):
    if framework not in FRAMEWORK_LAYOUTS:
        raise SlimcompatError(f"unknown framework layout {framework!r}; known: {', '.join(FRAMEWORK_LAYOUTS)}")
    return FRAMEWORK_LAYOUTS[framework].get(kind)


def _own_shape(kind, framework, shape):
    """(the shape before the merge, the framework's own shape) of a canonical kernel of `shape`."""
    rule = _rule(kind, framework)
    if rule is None or len(rule[0]) != len(shape):
        return tuple(shape), tuple(shape)
    axes, merge = rule
    permuted = tuple(shape[i] for i in axes)
    return permuted, ((permuted[0] * permuted[1], 1, *permuted[2:]) if merge else permuted)


def framework_shape(kind, framework, shape):
    """The shape `framework` holds a canonical kernel of `shape` in, for a plan op of `kind`."""
    return _own_shape(kind, framework, shape)[1]


def _reshapes(held, own):
    """The one rule: another rank, as many elements."""
    return len(held) != len(own) and math.prod(held) == math.prod(own)


def held_shape(kind, framework, held, canonical_shape):
    """The canonical-layout shape of a kernel `framework` holds as `held`, expected as `canonical_shape`.

    `canonical_shape` itself where the rule maps `held` to it; otherwise `held`
    read back through the framework's transpose where the ranks agree (so a
    mismatch is reported in canonical layout), else `held` as it is.
    """
    held, canonical_shape = tuple(held), tuple(canonical_shape)
    own = framework_shape(kind, framework, canonical_shape)
    if held == own or _reshapes(held, own):
        return canonical_shape
    rule = _rule(kind, framework)
    if rule is not None and not rule[1] and len(rule[0]) == len(held):
        return tuple(held[rule[0].index(i)] for i in range(len(held)))
    return held


def to_framework(value, kind, framework, shape=None):
    """A canonical kernel (array) in `framework`'s own layout for `kind`, reshaped to `shape` where the target
    holds it in another rank with as many elements."""
    value = np.asarray(value)
    own = framework_shape(kind, framework, value.shape)
    rule = _rule(kind, framework)
    if rule is not None and len(rule[0]) == value.ndim:
        value = value.transpose(rule[0]).reshape(own)
    if shape is not None and tuple(shape) != own:
        if not _reshapes(tuple(shape), own):
            raise SlimcompatError(f"a {kind} kernel {own} cannot be held as {tuple(shape)}")
        value = value.reshape(tuple(shape))
    return np.ascontiguousarray(value)


def from_framework(value, kind, framework, canonical_shape):
    """The inverse of `to_framework`: a kernel `framework` holds, in canonical layout of `canonical_shape`."""
    value, canonical_shape = np.asarray(value), tuple(canonical_shape)
    permuted, own = _own_shape(kind, framework, canonical_shape)
    if value.shape != own:
        if not _reshapes(value.shape, own):
            raise SlimcompatError(f"a {kind} kernel {canonical_shape} is not held as {value.shape}")
        value = value.reshape(own)
    rule = _rule(kind, framework)
    if rule is not None and len(rule[0]) == len(canonical_shape):
        value = value.reshape(permuted).transpose(np.argsort(rule[0]))
    return np.ascontiguousarray(value)


def held_shapes(description, scheme_name, framework):
    """{`scheme_name` tensor name: shape in `framework`'s layout} of the kernels that scheme's implementation
    holds in another rank than the canonical (the family's `dense` and `conv`): what the rule reshapes to."""
    record = description.record
    dense, conv = set(record.dense.get(scheme_name, ())), set(record.conv.get(scheme_name, ()))
    if not dense | conv:
        return {}
    bound = scheme(scheme_name, description)
    out = {}
    for name, shape in description.tensors().items():
        layer, _, param = name.rpartition("/")
        if param != "kernel":
            continue
        if layer in dense and len(shape) == 4:
            out[bound.tensor(name)] = framework_shape("dense", framework, (math.prod(shape[:3]), shape[3]))
        elif layer in conv and len(shape) == 2:
            out[bound.tensor(name)] = framework_shape("conv", framework, (1, 1, *shape))
    return out


def _torch_kind(name, ndim):
    """A kernel's kind from its name and torch rank alone (a depthwise kernel is named so; Linear is rank 2)."""
    param = name.rpartition("/")[2]
    if param == "depthwise_kernel":
        return "depthwiseconv"
    return ("dense" if ndim == 2 else "conv") if param == "kernel" else None


def state_dict(tensors, description, shapes=None, naming=TORCH_NAMING):
    """{state_dict key: array in PyTorch layout} of canonical `tensors` (plus each BatchNorm's num_batches_tracked).

    shapes: {state_dict key: shape} of a target module holding some kernel in
    another rank (torchvision's VGG Linear for a canonical conv); default the
    PyTorch layout of each kernel's own kind. naming: the PyTorch naming scheme
    (`torchvision`, or `timm` for timm's models).
    """
    bound = scheme(naming, description)
    kinds = kernel_kinds(description)
    out = {}
    for name, value in tensors.items():
        key = bound.tensor(name)
        kind = kinds.get(name)
        out[key] = to_framework(value, kind, "torch", (shapes or {}).get(key)) if kind else \
            np.ascontiguousarray(np.asarray(value))
    for layer in _batch_norms(description):
        out[f"{bound.layer(layer)}.{_TRACKED}"] = np.zeros((), np.int64)
    return out


def shape_from_torch(name, shape, expected=None, kind=None):
    """The canonical-layout shape of canonical tensor `name`, held in PyTorch layout as `shape`.

    expected: the canonical shape, where known (needed for a kernel held in
    another rank); kind: its plan op's kind, else read from the name and rank.
    """
    kind = kind or _torch_kind(name, len(shape))
    if kind is None:
        return tuple(shape)
    if expected is None:
        rule = _rule(kind, "torch")
        return tuple(shape) if rule[1] or len(rule[0]) != len(shape) else \
            tuple(shape[rule[0].index(i)] for i in range(len(shape)))
    return held_shape(kind, "torch", shape, expected)


def _batch_norms(description):
    return [op.layer for op in description.layers() if isinstance(op, ops.BatchNorm)]


def canonical_tensors(tensors, description, where, naming=TORCH_NAMING):
    """{canonical name: array in canonical layout} of a state_dict for `description` named by scheme `naming`;
    MappingError unless its names and shapes are exactly the description's (num_batches_tracked allowed, and
    ignored, on BatchNorms)."""
    bound = scheme(naming, description)
    tracked = {f"{bound.layer(layer)}.{_TRACKED}" for layer in _batch_norms(description)}
    kinds = kernel_kinds(description)
    expected = description.tensors()
    names, unmapped = {}, {}
    for key, value in tensors.items():
        if key in tracked:
            continue
        try:
            names[bound.canonical_tensor(key)] = key
        except UnknownNameError:
            unmapped[key] = np.shape(value)
    found = {name: (held_shape(kinds[name], "torch", np.shape(tensors[key]), expected[name]) if name in kinds
                    else tuple(np.shape(tensors[key]))) if name in expected else tuple(np.shape(tensors[key]))
             for name, key in names.items()}
    missing = [f"{bound.tensor(n)} ({n})" for n in expected if n not in found]
    mismatched = [(f"{names[n]} ({n})", expected[n], found[n]) for n in expected
                  if n in found and tuple(expected[n]) != found[n]]
    if missing or unmapped or mismatched:
        raise MappingError(where, missing, list(unmapped), mismatched)
    out = {}
    for name in expected:
        value = tensors[names[name]]
        out[name] = from_framework(value, kinds[name], "torch", expected[name]) if name in kinds else \
            np.ascontiguousarray(np.asarray(value))
    return out, {name: names[name] for name in expected}
