"""Keep Keras 3 regularizers and initializers away from tf_slim layers.

tf_upgrade_v2 turns `slim.l2_regularizer(s)` and
`tf.contrib.layers.l2_regularizer(s)` into `tf.keras.regularizers.l2(0.5 * (s))`
(`l=` for `scale=`), and the contrib initializers into
`tf.compat.v1.keras.initializers.VarianceScaling(...)`. On TF 2.16+ both are
Keras 3 objects: `l2(l=...)` fails at once (Keras 3 spells it `l2=`), and a
slim layer calling the regularizer on a graph-mode reference variable fails
with "Invalid dtype: float32_ref". The initializers run, but draw other values
than TF1's slim initializers did under the same seed.

The change spec therefore drops those transformers for the contrib names it
covers, so the calls keep their tf_slim meaning. For files that already went
through tf_upgrade_v2, this module maps its Keras regularizers back to tf_slim
and flags Keras initializers, in files that use tf_slim.
"""

import ast

import pasta
from pasta.base import formatting
from tensorflow.tools.compatibility import ast_edits

from slimcompat.legacy.program import name_parts

__all__ = ["transformers", "warnings", "calls"]

_INITIALIZERS = ("VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform")


def transformers(roots):
    """function_transformers entries for each name bound to `tensorflow`."""
    table = {}
    for root in roots:
        table[f"{root}.keras.regularizers.l2"] = _l2
        table[f"{root}.keras.regularizers.l1"] = _l1
    return table


def warnings(roots):
    """function_warnings entries flagging Keras initializers under tf_slim."""
    message = (ast_edits.WARNING,
               "It is a Keras 3 initializer: tf_slim layers accept it, but it draws "
               "other values than TF1's slim initializers did; tf_slim.variance_scaling_initializer "
               "or tf_slim.xavier_initializer reproduce TF1's weights.")
    return {f"{root}{middle}.keras.initializers.{name}": message
            for root in roots for middle in ("", ".compat.v1") for name in _INITIALIZERS}


def calls(tree, table):
    """Whether any call in `tree` is to a name in `table`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts = name_parts(node.func)
            if parts is not None and ".".join(parts) in table:
                return True
    return False


def _l2(parent, node, full_name, name, logs):
    value = _argument(node, "l2")
    if value is None:
        scale = pasta.parse("0.02").body[0].value
    elif (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult)
          and isinstance(value.left, ast.Constant) and value.left.value == 0.5):
        scale = value.right
        formatting.set(scale, "prefix", "")
        formatting.set(scale, "suffix", "")
    else:
        scale = pasta.parse(f"2.0 * ({pasta.dump(value).strip()})").body[0].value
    return _to_slim(node, "tf_slim.l2_regularizer", scale, full_name, logs,
                    "scale = 2 * l, as slim's l2 loss is sum(w**2) / 2")


def _l1(parent, node, full_name, name, logs):
    value = _argument(node, "l1")
    scale = value if value is not None else pasta.parse("0.01").body[0].value
    return _to_slim(node, "tf_slim.l1_regularizer", scale, full_name, logs, "same scale")


def _argument(node, keyword):
    for kw in node.keywords:
        if kw.arg in ("l", keyword):
            return kw.value
    return node.args[0] if node.args else None


def _to_slim(node, target, scale, full_name, logs, how):
    func = ast_edits.full_name_node(target)
    ast.copy_location(func, node.func)
    node.func, node.args, node.keywords = func, [scale], []
    logs.append((ast_edits.INFO, node.lineno, node.col_offset,
                 f"Changed {full_name} to {target} ({how}): a Keras 3 regularizer fails on "
                 "graph-mode variables with 'Invalid dtype: float32_ref'"))
    return node
