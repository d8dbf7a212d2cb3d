"""The canonical tensor layout's one rule besides HWIO: a grouped kernel is stored once.

A grouped conv's kernel is [k, k, in/groups, out], the groups side by side along
the last axis; code that keeps one kernel per group (seed 002's ResNeXt: split
the channels, one Conv2D per group, concatenate) maps to it with these two
functions, exactly and in both directions.
"""

import numpy as np

from slimcompat.errors import SlimcompatError

__all__ = ["merge_groups", "split_groups"]


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
