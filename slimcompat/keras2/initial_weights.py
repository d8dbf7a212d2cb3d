"""Keras 2's `weights=` layer argument: the layer's first weights, set when it is built.

Keras 1.x-2.x layers took `weights=[kernel, bias]` and called `set_weights` at
the end of `build`, so the values land whenever the layer first sees its input
(net2net-style programs widen or deepen a trained model this way). Keras 3
refuses the argument on every layer but Embedding; `migrate` rewrites
`Conv2D(64, 3, weights=w)` to `slimcompat.keras2.initial_weights(Conv2D(64, 3), w)`.
"""

import functools

__all__ = ["initial_weights"]


def initial_weights(layer, weights):
    """`layer`, whose weights are set to `weights` once it is built (at once if it already is)."""
    if weights is None:
        return layer
    if layer.built:
        layer.set_weights(weights)
        return layer
    build = layer.build

    @functools.wraps(build)   # Keras 3 passes build() the shapes its signature names
    def build_then_set(*args, **kwargs):
        build(*args, **kwargs)
        layer.set_weights(weights)
    layer.build = build_then_set
    return layer
