"""Seeded random but realistic canonical weights: for parity and benchmark runs
without a file of one's own, and for tests.

BatchNorm scales and variances lie in [0.5, 1.5] and kernels are fan-in
scaled, so activations stay finite and varied through 50+ layers, and a
misplaced tensor changes the outputs visibly (pretrained-like statistics,
which zero-initialised BatchNorm would not give).
"""

import numpy as np

from slimcompat.arch import describe
from slimcompat.arch.conventions import source_input
from slimcompat.arch.registry import default_source
from slimcompat.weights.canonical import Weights
from slimcompat.weights.metadata import Metadata

__all__ = ["random_tensors", "random_weights"]

_META_FIELDS = ("input", "source_kind", "source_file", "source_sha256", "input_shape")


def random_tensors(shapes, seed=0):
    """{name: float32 array} for {canonical name: shape}."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        if name.endswith(("/moving_variance", "/gamma")):
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("/kernel"):
            value = rng.standard_normal(shape) / np.sqrt(np.prod(shape[:-1]))
        else:
            value = 0.1 * rng.standard_normal(shape)
        out[name] = value.astype(np.float32)
    return out


def random_weights(architecture="resnet_v2_50", source=None, seed=0, **changes):
    """Weights of `architecture`: a description used as it is, or a name described with `source`'s
    conventions (default: the name's own). `changes`: description knobs, or metadata fields
    (input, source_kind, source_file, source_sha256, input_shape)."""
    fields = {k: changes.pop(k) for k in _META_FIELDS if k in changes}
    if isinstance(architecture, str):
        source = source or default_source(architecture) or "slim"
        description = describe(architecture, source=source, **changes)
    else:
        description = architecture.replace(**changes) if changes else architecture
    fields.setdefault("input", source_input(source or "slim", description))
    meta = Metadata(description, **{"source_kind": "random", "source_file": f"(random, seed {seed})", **fields})
    tensors = random_tensors(description.tensors(), seed)
    return Weights(tensors, meta, {n: f"source/{n}" for n in tensors})
