"""Seeded random but realistic canonical weights: for parity and benchmark runs
without a file of one's own, and for tests.

BatchNorm scales and variances lie in [0.5, 1.5] and kernels are fan-in
scaled, so activations stay finite and varied through 50+ layers, and a
misplaced tensor changes the outputs visibly (pretrained-like statistics,
which zero-initialised BatchNorm would not give).
"""

import numpy as np

from slimcompat.weights.canonical import Weights
from slimcompat.weights.metadata import SOURCE_CONVENTIONS, Metadata

__all__ = ["random_tensors", "random_weights"]


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


def random_weights(architecture="resnet_v2_50", convention="slim:resnet_v2", seed=0, **changes):
    """Weights of `architecture` with metadata from SOURCE_CONVENTIONS[convention] plus `changes`."""
    meta = Metadata(architecture, **{**SOURCE_CONVENTIONS[convention], "source_kind": "random",
                                     "source_file": f"(random, seed {seed})", **changes})
    tensors = random_tensors(meta.arch.tensors(meta.num_classes), seed)
    return Weights(tensors, meta, {n: f"source/{n}" for n in tensors})
