"""Files Keras 3 cannot run keep Keras 2: their `keras` imports become tf-keras, TensorFlow's own Keras 2.

Some Keras 2 code has no Keras 3 spelling at all: a graph tensor as a model's
input or target (`Input(tensor=...)`, `compile(target_tensors=...)`) and the
TF1 graph backend functions (`K.gradients`, `K.get_session`,
`K.set_learning_phase`). tf-keras keeps them on TF 2.x, so `migrate` points
such a file's imports there (`import keras` -> `import tf_keras as keras`,
`from keras.layers import Dense` -> `from tf_keras.layers import Dense`) and
leaves the Keras 3 rewrites (slimcompat.migrate.keras3) out. Optimizers become
tf-keras' legacy ones (`keras.optimizers.SGD(lr=0.01, decay=1e-6)` ->
`keras.optimizers.legacy.SGD(...)`): Keras 2's own update rule, `decay`
included, and the only ones that work in TF1 graph mode; so do `tf.keras`'s
(`tf.keras.optimizers.Adam()` -> `tf.keras.optimizers.legacy.Adam()`). The
era's meanings and Keras 1 arguments are still written out: tf-keras reads them
as Keras 3 does.

Premade estimators and feature columns (`tf.estimator.DNNClassifier`,
`tf.feature_column`) are built on tf.keras 2, and `tf.keras` itself is Keras 3
on TF 2.16+: only `TF_USE_LEGACY_KERAS=1`, set before TensorFlow is imported,
makes TensorFlow's Keras tf-keras. A kept file that imports TensorFlow sets it
itself, first (`os.environ.setdefault(...)`), as `slimcompat run` does for it,
so it runs with plain python.
"""

import ast
import importlib
import importlib.util

from tensorflow.tools.compatibility.ast_edits import INFO, WARNING

from slimcompat.keras2.modules import LEGACY, keras3_home
from slimcompat.migrate import pasta_edit
from slimcompat.migrate.imports import bindings

__all__ = ["rewrite"]


def rewrite(tree, reasons):
    """Point the Keras imports of `tree` at tf-keras; the log entries. reasons: the Evidence that decided it."""
    why = f"Keras 3 cannot run {reasons[0].construct} (line {reasons[0].line}); tf-keras keeps Keras 2"
    logs = []
    for block in list(pasta_edit.blocks(tree)):
        for node in list(block):
            if isinstance(node, ast.Import) and any(_keras(a.name) for a in node.names):
                before = ast.unparse(node)
                kept = []
                for alias in node.names:
                    target = _module_home(alias.name) if _keras(alias.name) else alias.name
                    if target is None:
                        kept.append(alias.name)
                        continue
                    if alias.asname is None and target != alias.name and "." not in alias.name:
                        alias.asname = alias.name
                    elif alias.asname is None and target != alias.name:
                        kept.append(alias.name)   # `import keras.backend` binds `keras`: left as it is
                        continue
                    alias.name = target
                _log(logs, node, before, why, kept)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level and _keras(node.module):
                _from(block, node, why, logs)
    _legacy_optimizers(tree, logs)
    _legacy_keras_first(tree, why, logs)
    return logs


LEGACY_KERAS_LINE = ('os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  '
                     '# before TensorFlow: tf.keras is then tf-keras (Keras 2)')
_TF_ROOTS = ("tensorflow", "tensorflow_estimator", "tf_keras", "keras", "tf_slim", "slimcompat")


def _legacy_keras_first(tree, why, logs):
    """Set TF_USE_LEGACY_KERAS before the first statement that imports TensorFlow or Keras (see the module doc)."""
    if not any(_imported_root(node) & {"tensorflow", "tensorflow_estimator"} for node in ast.walk(tree)) or any(
            isinstance(node, ast.Constant) and node.value == "TF_USE_LEGACY_KERAS" for node in ast.walk(tree)):
        return
    body = tree.body
    index = next(i for i, statement in enumerate(body)
                 if any(_imported_root(node) & set(_TF_ROOTS) for node in ast.walk(statement)))
    lines = [LEGACY_KERAS_LINE]
    if not any(isinstance(node, ast.Import) and any(a.name == "os" and a.asname is None for a in node.names)
               for node in body[:index]):
        lines.insert(0, "import os")
    for offset, line in enumerate(lines):
        pasta_edit.insert_before(body, index + offset, pasta_edit.statement(line, body[index + offset]))
    logs.append((INFO, body[index].lineno, body[index].col_offset,
                 f"Added `{LEGACY_KERAS_LINE.split('  #')[0]}` before the first TensorFlow import: {why}, and "
                 "tf.keras (and what TensorFlow builds on it) is tf-keras only if this is set before TensorFlow "
                 "is imported"))


def _imported_root(node):
    if isinstance(node, ast.Import):
        return {a.name.split(".")[0] for a in node.names}
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return {node.module.split(".")[0]}
    return set()


def _legacy_optimizers(tree, logs):
    bound = bindings(tree)
    legacy = importlib.import_module(_LEGACY)
    for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
        parts, node = [], call.func
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in bound:
            continue
        dotted = ".".join([bound[node.id], *parts])
        parent, _, name = dotted.rpartition(".")
        if parent not in _OPTIMIZER_MODULES or not isinstance(getattr(legacy, name, None), type):
            continue
        before = ast.unparse(call.func)
        if isinstance(call.func, ast.Attribute):
            call.func.value = ast.Attribute(value=call.func.value, attr="legacy", ctx=ast.Load())
        else:
            continue   # a name imported from tf_keras.optimizers: _from already imported the legacy class
        logs.append((INFO, call.lineno, call.col_offset,
                     f"Changed {before} to {ast.unparse(call.func)}: tf-keras' legacy optimizers keep Keras 2's "
                     "update rule (decay included) and run in TF1 graph mode"))


def _module_home(module):
    """tf-keras' module for Keras 2's `module` imported as a module (`import keras.backend as K`).

    Its last home in the served-modules table holds all its names: tf-keras' public backend lacks the TF1
    graph functions (get_session, update) that graph-era programs call, its implementation module has them.
    """
    row = LEGACY.get(module)
    if row is not None:
        for home in reversed((row.keras2,) if isinstance(row.keras2, str) else row.keras2):
            try:
                if importlib.util.find_spec(home) is not None:
                    return home
            except (ImportError, ValueError):
                pass
    return _tf_keras_module(module)


def _from(block, node, why, logs):
    before = ast.unparse(node)
    submodules = {a.name for a in node.names if f"{node.module}.{a.name}" in LEGACY}
    whole = _tf_keras_module(node.module)
    if whole == "tf_keras.optimizers" and all(_has(_LEGACY, a.name) for a in node.names):
        whole = _LEGACY
    if not submodules and whole and all(a.name == "*" or _has(whole, a.name) for a in node.names):
        node.module = whole
        _log(logs, node, before, why, [])
        return
    lines, kept = [], []
    for alias in node.names:
        home = (_module_home(f"{node.module}.{alias.name}") if alias.name in submodules
                else _tf_keras_name(node.module, alias.name))
        if home is None:
            kept.append(alias.name)
            home = f"{node.module}.{alias.name}"
        parent, _, attr = home.rpartition(".")
        bound = alias.asname or alias.name
        lines.append(f"from {parent} import {attr}" + (f" as {bound}" if bound != attr else ""))
    pasta_edit.replace(block, block.index(node), [pasta_edit.statement(line, node) for line in lines])
    _log(logs, node, before, why, kept, after="; ".join(lines))


def _log(logs, node, before, why, kept, after=None):
    after = after or ast.unparse(node)
    if after != before:
        logs.append((INFO, node.lineno, node.col_offset, f"Changed {before!r} to {after!r}: {why}"))
    for name in kept:
        logs.append((WARNING, node.lineno, node.col_offset,
                     f"{name}: tf-keras has no public home for it; left as it is, under Keras 3 ({why})"))


def _keras(module):
    return module == "keras" or module.startswith("keras.")


_LEGACY = "tf_keras.optimizers.legacy"
_OPTIMIZER_MODULES = ("tf_keras.optimizers", "tensorflow.keras.optimizers")


def _tf_keras_module(module):
    target = "tf_keras" + module[len("keras"):]
    try:
        return target if importlib.util.find_spec(target) is not None else None
    except (ImportError, ValueError):
        return None


def _has(module, name):
    try:
        return hasattr(importlib.import_module(module), name) or \
            importlib.util.find_spec(f"{module}.{name}") is not None
    except ImportError:
        return False


def _tf_keras_name(module, name):
    """tf-keras' public dotted home of `from module import name`, or None."""
    candidates = [f"{module}.{name}"]
    if module in LEGACY:
        home = keras3_home(module, name)
        if home:
            candidates.insert(0, home)
    for dotted in candidates:
        parent, _, attr = dotted.rpartition(".")
        target = _tf_keras_module(parent)
        if target and _has(target, attr):
            return f"{target}.{attr}"
    return None
