"""Repairs that make the released tf-slim 1.1.0 work on TensorFlow 2.16+ (and, through
slimcompat.runtime.estimator, tensorflow-estimator 2.15.0).

tf-slim 1.1.0 (2020) imports TensorFlow internals by their TF 2.3 paths. Since
then TensorFlow split modules (`array_ops.stack` went to `array_ops_stack`,
`ops.Tensor` to `tensor.Tensor`) and moved its Keras into tf-keras. Each repair
below is one such move, declared as data: where tf-slim looks, where the thing
lives now, and the error a user sees without it.

Every repair is detected by feature (is the name still missing?), never by
version string, so it applies on exactly the releases that need it and is a
no-op after it has applied once. Each belongs to the package it mends and is
only probed once that package is imported (slimcompat.runtime.activation), so
that importing TensorFlow never imports tf_slim or tf_keras. A repair that
fails says so once on stderr; the program goes on, and the symptom it names
is what to expect.

One more serves TF1 code under Keras 3: `tf.compat.v1.layers` (what
`tf.layers` becomes after `migrate`) routes to Keras 3, which has no TF1
layers; tf-keras still has them.
"""

import dataclasses
import importlib
import importlib.util
import sys
from typing import Callable, Optional

from slimcompat.runtime import estimator, numpy2
from slimcompat.runtime.aliases import AliasFinder, find_spec_or_none, install_finder

__all__ = ["Repair", "REPAIRS", "PACKAGES", "apply_all", "apply_loaded", "status"]

PACKAGES = ("tensorflow", "tf_keras", "tf_slim")


@dataclasses.dataclass
class Repair:
    """One fix to `package`: `needed()` detects the breakage, `fix()` mends it."""

    name: str
    symptom: str
    needed: Callable[[], bool]
    fix: Callable[[], None]
    package: str = "tensorflow"
    applied: bool = False
    error: Optional[str] = None


def _module(path):
    try:
        return importlib.import_module(path)
    except ImportError:
        return None


def _moved_symbol(where, name, now_in, now_name=None, symptom=None):
    """tf-slim reads `where.name`; TensorFlow now keeps it at `now_in.now_name`."""
    now_name = now_name or name

    def needed():
        old, new = _module(where), _module(now_in)
        return old is not None and not hasattr(old, name) and new is not None and hasattr(new, now_name)

    def fix():
        setattr(importlib.import_module(where), name, getattr(importlib.import_module(now_in), now_name))

    short = where.rsplit(".", 1)[-1]
    return Repair(
        name=f"{short}.{name} <- {now_in}.{now_name}",
        symptom=symptom or f"AttributeError: module '{where}' has no attribute '{name}'",
        needed=needed, fix=fix, package=where.split(".")[0])


_MOVED_SYMBOLS = [
    # (module tf-slim imports, attribute, module holding it now)
    ("tensorflow.python.framework.ops", "Tensor", "tensorflow.python.framework.tensor"),
    ("tensorflow.python.framework.ops", "IndexedSlices", "tensorflow.python.framework.indexed_slices"),
    ("tensorflow.python.ops.variables", "VariableV1", "tensorflow.python.ops.variable_v1"),
    ("tensorflow.python.ops.variable_scope", "resource_variables_enabled",
     "tensorflow.python.ops.resource_variables_toggle"),
    ("tensorflow.python.ops.variable_scope", "enable_resource_variables",
     "tensorflow.python.ops.resource_variables_toggle"),
    ("tensorflow.python.ops.variable_scope", "disable_resource_variables",
     "tensorflow.python.ops.resource_variables_toggle"),
    ("tensorflow.python.ops.array_ops", "stack", "tensorflow.python.ops.array_ops_stack"),
    ("tensorflow.python.ops.array_ops", "unstack", "tensorflow.python.ops.array_ops_stack"),
    ("tensorflow.python.ops.control_flow_ops", "cond", "tensorflow.python.ops.cond"),
    ("tensorflow.python.ops.control_flow_ops", "case", "tensorflow.python.ops.control_flow_case"),
    ("tensorflow.python.ops.control_flow_ops", "Assert", "tensorflow.python.ops.control_flow_assert"),
    ("tensorflow.python.ops.control_flow_ops", "while_loop", "tensorflow.python.ops.while_loop"),
]

# `variable_scope.variable(initial_value, trainable=..., collections=...)` was a
# thin keyword-forwarding wrapper around VariableV1, removed in TF 2.13.
_MOVED_SYMBOLS_RENAMED = [
    ("tensorflow.python.ops.variable_scope", "variable", "tensorflow.python.ops.variable_v1", "VariableV1"),
]

def _replaced_function(name, modules, replacement, broken, symptom):
    """Bind `replacement` as `name` in every module of `modules` while `broken()`."""

    def needed():
        loaded = [m for m in map(_module, modules) if m is not None]
        return broken() and any(getattr(m, name, None) is not replacement for m in loaded)

    def fix():
        for module in map(_module, modules):
            if module is not None:
                setattr(module, name, replacement)

    return Repair(name=f"{modules[0]}.{name} <- {replacement.__module__}.{name}",
                  symptom=symptom, needed=needed, fix=fix, package=modules[0].split(".")[0])


_LEGACY_KERAS = "tf_keras.legacy_tf_layers"
_LEGACY_KERAS_NOW = "tf_keras.src.legacy_tf_layers"


def _legacy_keras_needed():
    return (importlib.util.find_spec("tf_keras") is not None
            and find_spec_or_none(_LEGACY_KERAS) is None and find_spec_or_none(_LEGACY_KERAS_NOW) is not None)


def _legacy_keras_fix():
    install_finder(AliasFinder(_LEGACY_KERAS, prefixes={_LEGACY_KERAS: _LEGACY_KERAS_NOW}))


_V1_LAYERS = "tf_keras.api._v1.keras.__internal__.legacy.layers"


def _v1_layers_needed():
    """tf.compat.v1.layers routes to Keras 3 unless TF_USE_LEGACY_KERAS is set; Keras 3 has no TF1 layers."""
    from tensorflow.python.util.lazy_loader import KerasLazyLoader
    current = vars(importlib.import_module("tensorflow.compat.v1")).get("layers")
    return (isinstance(current, KerasLazyLoader) and find_spec_or_none("tf_keras") is not None
            and (not current._tfll_initialized or current._tfll_keras_version != "tf_keras"))  # pylint: disable=protected-access


def _v1_layers_fix():
    from tensorflow.python.util.lazy_loader import LazyLoader
    v1 = importlib.import_module("tensorflow.compat.v1")
    setattr(v1, "layers", LazyLoader("layers", vars(v1), _V1_LAYERS))


REPAIRS = [
    Repair(
        name=f"{_LEGACY_KERAS} -> {_LEGACY_KERAS_NOW}",
        symptom="slim.batch_norm: ModuleNotFoundError: No module named 'tf_keras.legacy_tf_layers'",
        needed=_legacy_keras_needed, fix=_legacy_keras_fix, package="tf_keras"),
    *[_moved_symbol(*row) for row in _MOVED_SYMBOLS],
    *[_moved_symbol(*row) for row in _MOVED_SYMBOLS_RENAMED],
    _replaced_function(
        "assign_from_checkpoint", ("tf_slim.ops.variables", "tf_slim"), numpy2.assign_from_checkpoint,
        numpy2.list_of_slices_rejected,
        "slim.assign_from_checkpoint on partitioned variables: IndexError: only integers, slices "
        "(`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or boolean arrays are valid indices"),
    Repair(f"tf.compat.v1.layers <- {_V1_LAYERS}",
           "tf.compat.v1.layers.dense (tf.layers in TF1 code) under Keras 3: AttributeError: `dense` is not "
           "available with Keras 3", _v1_layers_needed, _v1_layers_fix),
    *[Repair(*row) for row in estimator.repairs()],
]


def apply_all():
    """Apply every repair that is needed, importing what it mends; return the list of repairs."""
    for repair in REPAIRS:
        _apply(repair)
    return REPAIRS


def apply_loaded():
    """Apply the needed repairs of the packages already imported (what the import hook calls)."""
    for repair in REPAIRS:
        if repair.package in sys.modules:
            _apply(repair)
    return REPAIRS


def _apply(repair):
    if repair.applied or repair.error:
        return
    try:
        if repair.needed():
            repair.fix()
            repair.applied = not repair.needed()
            if not repair.applied:
                repair.error = "still broken after the fix"
    except Exception as exc:  # a repair must never break the import that triggered it
        repair.error = f"{type(exc).__name__}: {exc}"
    if repair.error:
        print(f"slimcompat: warning: runtime repair {repair.name} failed ({repair.error}); "
              f"expect: {repair.symptom}", file=sys.stderr)


def status():
    """[(name, state, symptom)] with state 'applied', 'not needed' or 'failed: ...'."""
    rows = []
    for r in REPAIRS:
        state = "applied" if r.applied else (f"failed: {r.error}" if r.error else "not needed")
        rows.append((r.name, state, r.symptom))
    return rows
