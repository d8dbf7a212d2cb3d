"""NumPy's removed aliases (`np.float`, `np.int`, ...) -> the Python builtins they were.

The table is slimcompat.legacy.numpy_names', which `slimcompat run` serves on
numpy at run time; here each use through the file's binding of numpy (`import
numpy as np`, `import numpy`) is rewritten once, so the migrated file runs on
NumPy 2 with plain python.
"""

import ast

from pasta.base import formatting
from tensorflow.tools.compatibility.ast_edits import INFO

from slimcompat.legacy.numpy_names import ALIASES
from slimcompat.legacy.program import dotted_name

__all__ = ["rewrite"]


def rewrite(tree, bindings):
    """Replace each `np.<alias>` in `tree` by its builtin; the log entries."""
    logs = []
    for parent in list(ast.walk(tree)):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for index, item in enumerate(value):
                    new = _builtin(item, bindings, logs)
                    if new is not None:
                        value[index] = new
            else:
                new = _builtin(value, bindings, logs)
                if new is not None:
                    setattr(parent, field, new)
    return logs


def _builtin(node, bindings, logs):
    """The builtin's Name for an `np.<alias>` load, or None."""
    if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load) or node.attr not in ALIASES:
        return None
    if dotted_name(node.value, bindings) != "numpy" or not isinstance(node.value, ast.Name) \
            or node.value.id not in bindings:
        return None
    builtin = ALIASES[node.attr]
    new = ast.copy_location(ast.Name(id=builtin, ctx=ast.Load()), node)
    for key in ("prefix", "suffix"):
        formatting.set(new, key, formatting.get(node, key) or "")
    logs.append((INFO, node.lineno, node.col_offset,
                 f"Changed {ast.unparse(node)!r} to {builtin!r}: NumPy 1.24 removed the alias; it was Python's "
                 f"{builtin}"))
    return new
