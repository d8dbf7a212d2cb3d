"""Keras 1's `merge` function and `Merge` layer, as the Keras 2 merge layers that replaced them.

Keras 1.2.2 (keras/engine/topology.py, exported by keras.layers) merged a list
of tensors with one function and one layer, chosen by a mode string:
`merge(inputs, mode='sum', concat_axis=-1, dot_axes=-1, output_shape=None,
output_mask=None, arguments=None, name=None)` and `Merge(layers=None, ...)`
with the same arguments. Keras 2.0-2.1 kept both in keras.legacy.layers (with a
warning); Keras 2.2 removed them, and `keras.layers.merge` became the module of
the merge layers. A Keras-1 program's `from keras.layers import merge` then
gets a module, and `merge([a, b], mode='concat')` fails with "object is not
callable".

Each mode is one Keras 2 layer, which Keras 3 still has under the same names
(MODES, read from Keras 1.2.2's Merge.call): 'sum' adds, 'mul' multiplies,
'ave' averages, 'max' takes the maximum, 'concat' concatenates on concat_axis,
'dot' is K.batch_dot on dot_axes and 'cos' the same divided by both norms (Dot
with normalize=True). A callable mode was a Lambda over the list. Declared once
and read by both modes: `slimcompat run` serves `merge` and `Merge` (the served
`keras.layers.merge` module is callable, as Keras 2.0-2.1's name was the
function), `slimcompat migrate` rewrites the call (slimcompat.migrate.keras1).
"""

import dataclasses
import importlib
import os
import sys
import warnings
from typing import Mapping

__all__ = ["MergeMode", "MODES", "DEFAULTS", "CALLEES", "keras2_arguments", "merge", "Merge", "merge_keras3",
           "Merge_keras3"]


@dataclasses.dataclass(frozen=True)
class MergeMode:
    """A Keras 1 merge mode as Keras 2's function and layer, with its arguments renamed and fixed ones added."""

    function: str
    layer: str
    renames: Mapping[str, str] = dataclasses.field(default_factory=dict)
    fixed: Mapping[str, object] = dataclasses.field(default_factory=dict)


MODES = {
    "sum": MergeMode("add", "Add"),
    "mul": MergeMode("multiply", "Multiply"),
    "ave": MergeMode("average", "Average"),
    "max": MergeMode("maximum", "Maximum"),
    "concat": MergeMode("concatenate", "Concatenate", {"concat_axis": "axis"}),
    "dot": MergeMode("dot", "Dot", {"dot_axes": "axes"}),
    "cos": MergeMode("dot", "Dot", {"dot_axes": "axes"}, {"normalize": True}),
}
# Keras 1.2.2's defaults; Keras 2's Dot has no default axes, so the Keras 1 default is written out.
DEFAULTS = {"mode": "sum", "concat_axis": -1, "dot_axes": -1}
# The Keras 1 spellings: the function and the layer.
CALLEES = ("merge", "Merge")
# Keras 1 arguments with no Keras 2 equivalent for a named mode (Keras 1 read them only for a callable mode).
_CALLABLE_ONLY = ("output_shape", "output_mask", "arguments")


def keras2_arguments(mode, given):
    """(MergeMode, Keras 2 keyword arguments) for Keras 1's `mode` and its other keyword arguments `given`."""
    if mode not in MODES:
        raise ValueError(f"Invalid merge mode: {mode!r} (Keras 1 knew {', '.join(MODES)} or a function)")
    row = MODES[mode]
    kwargs = {}
    for old, new in row.renames.items():
        kwargs[new] = given.get(old, DEFAULTS[old])
    kwargs.update(row.fixed)
    if given.get("name") is not None:
        kwargs["name"] = given["name"]
    return row, kwargs


def keras2_spelling(callee, mode, given):
    """`concatenate(axis=1)`: how Keras 2 spells Keras 1's `merge(mode='concat', concat_axis=1)` (callee: merge or Merge)."""
    row, kwargs = keras2_arguments(mode, given)
    name = row.function if callee == "merge" else row.layer
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def _warn(callee, mode, given):
    """Keras 2.0-2.1's deprecation of merge and Merge, naming the Keras 2 spelling, at the user's call site."""
    if callable(mode):
        shown, instead = f"{callee}(mode=<function>)", "Lambda(function)"
    else:
        shown = f"{callee}(mode={mode!r})"
        instead = keras2_spelling(callee, mode, given)
    package, depth = os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 2
    frame = sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, depth = frame.f_back, depth + 1
    warnings.warn(f"Update your `{callee}` call to the Keras 2 API: {shown} -> {instead}", UserWarning,
                  stacklevel=depth + 1)


def _layers(package):
    return importlib.import_module(f"{package}.layers")


def _merge_layer(package, mode, given):
    layers = _layers(package)
    if callable(mode):
        arguments = {k: given[k] for k in ("name",) if given.get(k) is not None}
        return layers.Lambda(mode, output_shape=given.get("output_shape"), arguments=given.get("arguments") or {},
                             **arguments)
    row, kwargs = keras2_arguments(mode, given)
    return getattr(layers, row.layer)(**kwargs)


def _functions(package):
    def merge(inputs, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None, arguments=None,
              name=None):
        """Keras 1's merge(inputs, mode=...): the Keras 2 merge layer of `mode` applied to `inputs`."""
        given = dict(concat_axis=concat_axis, dot_axes=dot_axes, output_shape=output_shape, arguments=arguments,
                     name=name)
        layer = _merge_layer(package, mode, given)
        _warn("merge", mode, given)
        return layer(list(inputs))

    def Merge(layers=None, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None,
              arguments=None, node_indices=None, tensor_indices=None, name=None):
        """Keras 1's Merge layer: the Keras 2 merge layer of `mode`, to be called on a list of tensors.

        Keras 1's `Merge([model1, model2])` as the first layer of a Sequential
        model gave it several inputs; Keras 2's Sequential has one, so that
        form fails in one line naming the functional spelling.
        """
        given = dict(concat_axis=concat_axis, dot_axes=dot_axes, output_shape=output_shape, arguments=arguments,
                     name=name)
        if layers:
            raise TypeError(f"Merge([...], mode={mode!r}) merged the given models into a Sequential model of "
                            f"several inputs (Keras 1); Keras 2's Sequential has one input: build a functional "
                            f"Model of {keras2_spelling('merge', mode, given) if not callable(mode) else 'Lambda'} "
                            f"on the models' outputs")
        layer = _merge_layer(package, mode, given)
        _warn("Merge", mode, given)
        return layer

    return merge, Merge


merge, Merge = _functions("tf_keras")
merge_keras3, Merge_keras3 = _functions("keras")
