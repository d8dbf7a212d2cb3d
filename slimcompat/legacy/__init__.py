"""The legacy import path: TF1 programs import what they always imported.

`enable()` makes `import tensorflow.contrib.slim as slim` (and `.nets`,
`tensorflow.contrib.layers[.python.layers.utils]`, `tensorflow.contrib.framework`,
...) resolve to working tf_slim equivalents, and, with `v1=True`, makes
`import tensorflow as tf` give the v1 API in graph mode. `slimcompat run` calls
it before running a script; call it yourself first thing in a program that
cannot be launched through `slimcompat run`::

    import slimcompat.legacy
    slimcompat.legacy.enable()
    import tensorflow as tf          # the v1 API, graph mode
    import tensorflow.contrib.slim as slim
"""

import sys

from slimcompat.legacy import contrib
from slimcompat.runtime import activate
from slimcompat.runtime.aliases import AliasFinder, UnsupportedModuleError, install_finder, lazy_submodules

__all__ = ["enable", "contrib_finder", "UnsupportedModuleError"]

def contrib_finder():
    """The import hook serving `tensorflow.contrib.*` (see slimcompat.legacy.contrib)."""
    return AliasFinder("tensorflow.contrib", prefixes=contrib.PREFIXES,
                       composites=contrib.COMPOSITES, unsupported=contrib.UNSUPPORTED)


def enable(v1=True, graph_mode=True):
    """Switch the legacy import path on; idempotent.

    v1: `import tensorflow as tf` yields the v1 API (and `tf.contrib`) to
        legacy code, see slimcompat.legacy.v1_module.
    graph_mode: call `tf.compat.v1.disable_v2_behavior()`, as TF1 ran: graph
        mode, reference variables, v1 control flow and TensorShape.
    """
    activate()
    install_finder(contrib_finder())
    import tensorflow
    import tf_slim
    lazy_submodules(tf_slim)
    if v1:
        from slimcompat.legacy.v1_module import V1Module
        if not isinstance(sys.modules["tensorflow"], V1Module):
            sys.modules["tensorflow"] = V1Module(tensorflow)
    if graph_mode:
        import tensorflow.compat.v1 as tf1
        if tf1.executing_eagerly():
            tf1.disable_v2_behavior()
