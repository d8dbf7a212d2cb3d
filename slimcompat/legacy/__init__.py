"""The legacy import path: TF1 programs import what they always imported.

`enable()` makes `import tensorflow.contrib.slim as slim` (and `.nets`,
`tensorflow.contrib.layers[.python.layers.utils]`, `tensorflow.contrib.framework`,
...) resolve to working tf_slim equivalents, and, with `v1=True`, makes
`import tensorflow as tf` give the program's own code the v1 API in graph mode
(installed packages keep TF 2, see slimcompat.legacy.v1_module). `slimcompat run`
calls it when the program is TF1 code (slimcompat.legacy.program); call it
yourself first thing in a program that cannot be launched through `slimcompat run`::

    import slimcompat.legacy
    slimcompat.legacy.enable()
    import tensorflow as tf          # the v1 API, graph mode
    import tensorflow.contrib.slim as slim
"""

import os
import sys

from slimcompat.legacy import contrib
from slimcompat.runtime import activate
from slimcompat.runtime.activation import after_import
from slimcompat.runtime.aliases import (AliasFinder, Composite, RemovedAPIError, UnsupportedModuleError,
                                        install_finder, lazy_submodules)

__all__ = ["enable", "contrib_finder", "code_policy", "UnsupportedModuleError", "RemovedAPIError"]


def contrib_finder():
    """The import hook serving `tensorflow.contrib.*` (see slimcompat.legacy.contrib)."""
    call_only = {name: Composite(note=f"{name}: {reason}", removed=reason)
                 for name, reason in contrib.CALL_ONLY.items()}
    return AliasFinder("tensorflow.contrib", prefixes=contrib.PREFIXES,
                       composites={**contrib.COMPOSITES, **call_only}, unsupported=contrib.UNSUPPORTED)


def code_policy(program_roots=None, v1_code=(), v2_code=()):
    """The CodePolicy for a program: its roots (default: the folder of `__main__`, else the
    current folder) and overrides, plus those in SLIMCOMPAT_V1_CODE / SLIMCOMPAT_V2_CODE."""
    from slimcompat.legacy.v1_module import CodePolicy
    if program_roots is None:
        main = getattr(sys.modules.get("__main__"), "__file__", None)
        program_roots = [os.path.dirname(os.path.abspath(main)) if main else os.getcwd()]
    return CodePolicy(program_roots, [*v1_code, *_env_list("SLIMCOMPAT_V1_CODE")],
                      [*v2_code, *_env_list("SLIMCOMPAT_V2_CODE")])


def _env_list(name):
    return [entry for entry in os.environ.get(name, "").split(os.pathsep) if entry]


def enable(v1=True, graph_mode=True, policy=None):
    """Switch the legacy import path on; idempotent.

    v1: `import tensorflow as tf` yields the v1 API (and `tf.contrib`) to the
        program's own code, as `policy` (default: code_policy()) decides.
    graph_mode: call `tf.compat.v1.disable_v2_behavior()`, as TF1 ran: graph
        mode, reference variables, v1 control flow and TensorShape; and
        `variable += value` gives a new tensor again (graph_variables).
    """
    activate()
    install_finder(contrib_finder())
    after_import("tf_slim", lazy_submodules)
    import tensorflow
    if v1:
        from slimcompat.legacy.v1_module import V1Module
        current = sys.modules["tensorflow"]
        if isinstance(current, V1Module):
            if policy is not None:
                current.__dict__["_slimcompat_policy"] = policy
        else:
            sys.modules["tensorflow"] = V1Module(tensorflow, policy or code_policy())
    if graph_mode:
        import tensorflow.compat.v1 as tf1
        if tf1.executing_eagerly():
            tf1.disable_v2_behavior()
        from slimcompat.legacy import graph_variables
        graph_variables.install()
