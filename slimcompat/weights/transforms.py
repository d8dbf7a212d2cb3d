"""Explicit, opt-in changes to canonical weights; converters never apply them silently.

Each returns new Weights whose metadata says what changed, so the file that
results still describes exactly what its tensors compute.
"""

import numpy as np

from slimcompat.arch import ops
from slimcompat.errors import SlimcompatError
from slimcompat.weights.canonical import Weights

__all__ = ["drop_background", "drop_aux", "aux_free", "flip_color", "set_bn_epsilon"]


def drop_background(weights: Weights) -> Weights:
    """1001-class slim weights -> 1000 classes: remove output 0 (background) of every classifier (the logits,
    and an auxiliary head's: the tensors whose last axis the class count sizes)."""
    meta = weights.meta
    if not meta.background_class:
        raise SlimcompatError(f"{meta.architecture} weights have no background class to drop "
                              f"({meta.num_classes} classes)")
    fewer = meta.replace(num_classes=meta.num_classes - 1, background_class=False)
    tensors, shapes = dict(weights.tensors), fewer.description.tensors()
    for name, shape in meta.description.tensors().items():
        if shapes[name] != shape:
            tensors[name] = np.ascontiguousarray(tensors[name][..., 1:])
    return weights.derive(tensors, fewer)


def aux_free(description):
    """(knob, description without side heads) where `description` has side heads (ops.Aux: Inception's
    auxiliary logits, trained with, unused at inference, hang off the main sequence) and one boolean knob
    removes exactly them; else None."""
    plan = description.plan()
    bare = tuple(op for op in plan if not isinstance(op, ops.Aux))
    if bare == plan:
        return None
    for knob, _, _ in description.knobs():
        if getattr(description, knob) is True:
            try:
                other = description.replace(**{knob: False})
            except SlimcompatError:
                continue
            if other.plan() == bare:
                return knob, other
    return None


def drop_aux(weights: Weights) -> Weights:
    """Weights without their side heads' tensors (Inception's auxiliary logits): the network's outputs stay."""
    found = aux_free(weights.meta.description)
    if found is None:
        raise SlimcompatError(f"{weights.meta.architecture} weights have no auxiliary head to drop")
    knob, bare = found
    kept = bare.tensors()
    tensors = {n: v for n, v in weights.tensors.items() if n in kept}
    return weights.derive(tensors, weights.meta.replace(**{knob: False}))


def flip_color(weights: Weights) -> Weights:
    """Reverse the first conv's input channels (RGB <-> BGR); the input convention follows."""
    tensors = dict(weights.tensors)
    first = _first_conv(weights.meta.description)
    tensors[first] = np.ascontiguousarray(tensors[first][:, :, ::-1, :])
    return weights.derive(tensors, weights.meta.replace(input=weights.meta.input.flipped()))


def _first_conv(description):
    """The kernel of the conv the image enters (`stem/conv/kernel`, VGG's `block1/conv1/kernel`)."""
    first = next(op for op in description.layers() if isinstance(op, ops.Conv))
    if first.in_channels != 3:
        raise SlimcompatError(f"{description.name}: its first conv {first.layer} takes {first.in_channels} "
                              f"channels, not 3 colours; there is no colour order to flip")
    return f"{first.layer}/kernel"


def set_bn_epsilon(weights: Weights, epsilon: float) -> Weights:
    """Re-express every BatchNorm for another epsilon without changing what it computes.

    BatchNorm divides by sqrt(moving_variance + epsilon); adding the old minus the
    new epsilon to moving_variance keeps that sum, so a framework fixed to another
    epsilon computes the same function (to float rounding of the sum).
    """
    old = weights.meta.bn_epsilon
    if not 0 < epsilon < 1:
        raise SlimcompatError(f"BatchNorm epsilon must be in (0, 1), found {epsilon}")
    tensors = dict(weights.tensors)
    for name, value in weights.tensors.items():
        if name.endswith("/moving_variance"):
            shifted = value.astype(np.float64) + (old - epsilon)
            if (shifted + epsilon <= 0).any():
                raise SlimcompatError(f"tensor {name}: moving_variance + epsilon would not stay positive")
            tensors[name] = shifted.astype(value.dtype)
    return weights.derive(tensors, weights.meta.replace(bn_epsilon=float(epsilon)))

