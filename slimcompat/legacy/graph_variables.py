"""`variable += value` in TF1 graph mode: a new tensor, as TF1 gave it.

Keras 2.2 programs (deep_dream.py, neural_style_transfer.py) build their
objective as `loss = K.variable(0.)` then `loss += term`: on TF1's reference
variables that made `loss` a new tensor, `variable + term`, and left the
variable alone. TF 2's resource variables, which tf-keras creates even in
graph mode, refuse it (RuntimeError: `variable += value` ... is not
supported). While building a graph the in-place operators give TF1's result
again; eagerly they keep TF 2's refusal, since there TF1 code never ran.
"""

import operator

__all__ = ["install"]

_INPLACE = {"__iadd__": operator.add, "__isub__": operator.sub, "__imul__": operator.mul,
            "__idiv__": operator.truediv, "__itruediv__": operator.truediv, "__irealdiv__": operator.truediv}


def install():
    """Give resource variables TF1's in-place operators in graph mode; idempotent."""
    from tensorflow.python.eager import context
    from tensorflow.python.ops.resource_variable_ops import BaseResourceVariable
    for name, op in _INPLACE.items():
        tf2 = BaseResourceVariable.__dict__.get(name)
        if tf2 is None or getattr(tf2, "_slimcompat_tf1", False):
            continue

        def inplace(self, other, _op=op, _tf2=tf2):
            return _tf2(self, other) if context.executing_eagerly() else _op(self, other)

        inplace._slimcompat_tf1 = True
        inplace.__name__ = name
        setattr(BaseResourceVariable, name, inplace)
