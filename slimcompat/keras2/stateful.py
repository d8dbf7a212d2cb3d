"""Keras 2's `model.reset_states()`: every stateful layer of the model back to zero state.

Keras 2.x models had `reset_states()`, which reset each stateful RNN layer
(lstm_stateful.py resets between sequences this way); Keras 3 kept the method
on the layers only. `migrate` rewrites `x.reset_states()` to
`slimcompat.keras2.reset_states(x)`, which calls the object's own method where
it has one and otherwise resets its stateful layers.
"""

__all__ = ["reset_states"]


def reset_states(obj):
    """Reset `obj`'s states: its own `reset_states()` (a metric's `reset_state()`) if it has one, else each
    stateful layer's inside it."""
    own = getattr(obj, "reset_states", None) or getattr(obj, "reset_state", None)   # a Keras 3 metric
    if callable(own):
        return own()
    for layer in getattr(obj, "layers", ()):
        if getattr(layer, "stateful", False) or getattr(layer, "layers", None):
            reset_states(layer)
    return None
