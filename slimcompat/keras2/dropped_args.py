"""Keras 2 arguments that tf-keras takes only to ignore them, dropped before it sees them.

tf-keras' TensorBoard still accepts Keras 2.2's `batch_size`, `write_grads`,
`embeddings_layer_names` and `embeddings_data`, warns that it ignores them, and
fails on an `embeddings_data` array while deciding whether to warn ("The truth
value of an array ... is ambiguous"). Under `slimcompat run` they are removed
with one line naming the call site, as `migrate` removes them from the source:
the "drop" entries of slimcompat.keras2.modules.KERAS3_REFUSED, read by both.
"""

import functools

from slimcompat.keras2.modules import KERAS3_REFUSED

__all__ = ["install", "DROPPED"]

# {callee: keywords tf-keras ignores}
DROPPED = {callee: frozenset(k for k, action in keywords.items() if action == "drop")
           for callee, keywords in KERAS3_REFUSED.items() if "drop" in keywords.values()}


def install():
    """Drop the ignored arguments from tf-keras' import on."""
    from slimcompat.runtime.activation import after_import
    after_import("tf_keras", _patch)


def _patch(tf_keras):
    from slimcompat.keras2.era_run import _say, user_site
    for callee, keywords in DROPPED.items():
        cls = getattr(tf_keras.callbacks, callee, None) or getattr(tf_keras.layers, callee, None)
        if cls is None or getattr(cls.__init__, "_slimcompat_dropped", False):
            continue
        original = cls.__init__

        @functools.wraps(original)
        def __init__(self, *args, _original=original, _callee=callee, _keywords=keywords, **kwargs):
            dropped = sorted(k for k in kwargs if k in _keywords)
            for keyword in dropped:
                del kwargs[keyword]
            if dropped:
                _say(user_site(2), f"{_callee}({', '.join(k + '=...' for k in dropped)}): tf-keras ignores "
                                   "it (Keras 2.2 used it for histograms and the old embeddings); dropped")
            _original(self, *args, **kwargs)

        __init__._slimcompat_dropped = True
        cls.__init__ = __init__
