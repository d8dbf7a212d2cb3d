"""Explicit, opt-in changes to canonical weights; converters never apply them silently.

Each returns new Weights whose metadata says what changed, so the file that
results still describes exactly what its tensors compute.
"""

import numpy as np

from slimcompat.arch import ops
from slimcompat.errors import SlimcompatError
from slimcompat.weights.canonical import Weights

__all__ = ["drop_background", "drop_aux", "flip_color", "set_bn_epsilon", "REMOVABLE"]

# Knobs whose tensors a transform removes: {knob: (the transform, convert's option)}. A target without what
# such a knob adds (keras.applications' InceptionV3 has no auxiliary head) names the way out.
REMOVABLE = {"aux_logits": ("drop_aux", "--drop-aux")}


def drop_background(weights: Weights) -> Weights:
    """1001-class slim weights -> 1000 classes: remove output 0 (background) of every classifier (the logits
    and, where there is one, the auxiliary head's)."""
    meta = weights.meta
    if not meta.background_class:
        raise SlimcompatError(f"{meta.architecture} weights have no background class to drop "
                              f"({meta.num_classes} classes)")
    tensors = dict(weights.tensors)
    for op in meta.description.layers():
        if isinstance(op, ops.Dense) and op.units == meta.num_classes:
            tensors[f"{op.layer}/kernel"] = np.ascontiguousarray(tensors[f"{op.layer}/kernel"][:, 1:])
            if op.bias:
                tensors[f"{op.layer}/bias"] = np.ascontiguousarray(tensors[f"{op.layer}/bias"][1:])
    return weights.derive(tensors, meta.replace(num_classes=meta.num_classes - 1, background_class=False))


def drop_aux(weights: Weights) -> Weights:
    """Weights without the auxiliary head (Inception's aux logits, used in training only): its tensors removed,
    the description without it. The main path's outputs are unchanged."""
    meta = weights.meta
    if not getattr(meta.description, "aux_logits", False) or not any(isinstance(op, ops.Aux)
                                                                     for op in meta.description.plan()):
        raise SlimcompatError(f"{meta.architecture} weights have no auxiliary head to drop")
    meta = meta.replace(aux_logits=False)
    kept = meta.description.tensors()
    return weights.derive({name: value for name, value in weights.tensors.items() if name in kept}, meta)


def flip_color(weights: Weights) -> Weights:
    """Reverse the first conv's input channels (RGB <-> BGR); the input convention follows."""
    tensors = dict(weights.tensors)
    tensors["stem/conv/kernel"] = np.ascontiguousarray(tensors["stem/conv/kernel"][:, :, ::-1, :])
    return weights.derive(tensors, weights.meta.replace(input=weights.meta.input.flipped()))


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

