"""Keras 3 models built from an architecture description, named by any naming scheme.

`build` interprets the description's plan (slimcompat.arch.ops): each Conv,
DepthwiseConv, BatchNorm and Dense becomes the Keras layer the naming scheme
names, each weightless op a layer named after its place (`stage1_unit1_add`),
residual units an Add (the main branch first scaled by a Rescaling where the
unit scales it) and Inception units a Concatenate. A plan with side heads
(`Aux`: Inception v3's auxiliary logits) makes a model with several outputs,
the main one first, so the heads' weights belong to the model. Nothing here knows a depth, a
family or a variant: those are the plan's. Grouped convolutions are one
`Conv2D(groups=...)`, which on TensorFlow's CPU kernels is exact against
split + per-group convs + concat and about twice as fast (README); the
split layout (seed 002's: one `Conv2D` per group, `{name}_group{i}`) is
built with `grouped="split"`, its weights moved through the same canonical
names by the group transforms of `slimcompat.arch.layout`.

Layer order matters to legacy `.h5` files loaded by position: Keras orders a
functional model's layers by depth, then by the order a depth-first walk from
the output meets them, so the order of the Add inputs decides it.
keras.applications adds [shortcut, residual]; the Keras-1 ResNet50 merged
[residual, shortcut] (naming "keras1").

`canonical_weights` and `set_canonical_weights` move weights between such a
model and canonical tensor names, checking the whole mapping first.
"""

import re

import keras
import numpy as np

from slimcompat.arch import layout, ops, scheme
from slimcompat.arch.layout import merge_groups, split_groups
from slimcompat.arch.mapping import check_mapping
from slimcompat.arch.templates import UnknownNameError
from slimcompat.errors import SlimcompatError

__all__ = ["build", "canonical_weights", "set_canonical_weights", "endpoint_layers", "GROUPED"]

_PARAMS = {"kernel", "depthwise_kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"}
_RESIDUAL_FIRST = {"keras1"}
_ENDPOINTS_ATTR = "_slimcompat_endpoints"
_GROUP = re.compile(r"(.+)_group(\d+)\Z")
GROUPED = ("native", "split")


def build(description, *, naming="keras", input_shape=None, name=None, grouped="native"):
    """A Keras functional model computing `description`, its weights exactly `description.tensors()`.

    naming: the scheme whose layer names the model uses ("keras", "keras1").
    grouped: "native" (one Conv2D with groups) or "split" (one Conv2D per group).
    The model's endpoint layers are given by `endpoint_layers(model)`.
    """
    if grouped not in GROUPED:
        raise SlimcompatError(f"grouped must be one of {', '.join(GROUPED)}, found {grouped!r}")
    builder = _Builder(description, naming, grouped)
    inputs = keras.Input(shape=tuple(input_shape or (*description.input_size, 3)), name="input")
    x = builder.sequence(inputs, description.plan())
    outputs = [x, *builder.side_outputs] if builder.side_outputs else x
    model = keras.Model(inputs, outputs, name=name or f"{description.name}_{naming}")
    object.__setattr__(model, _ENDPOINTS_ATTR, dict(builder.endpoints))
    _model_tensors(model, description, naming)
    return model


def endpoint_layers(model):
    """{canonical endpoint: name of the layer whose output it is} of a model `build` made."""
    found = getattr(model, _ENDPOINTS_ATTR, None)
    if found is None:
        raise SlimcompatError(f"Keras model {model.name!r} was not built by slimcompat; its endpoints are unknown")
    return dict(found)


def canonical_weights(model, description, naming="keras"):
    """{canonical tensor name: ndarray} of a Keras model named by `naming`; MappingError unless it holds exactly
    `description.tensors()`."""
    variables = _model_tensors(model, description, naming)
    return {name: np.asarray(_value(variables[name])).reshape(shape) for name, shape in description.tensors().items()}


def _value(variable):
    return variable.numpy() if isinstance(variable, _Groups) else keras.ops.convert_to_numpy(variable)


def set_canonical_weights(model, description, naming, tensors):
    """Assign canonical `tensors` to `model`; nothing is assigned unless all of them fit.

    The model's weights and `tensors` must map one-to-one with equal shapes;
    MappingError lists what is missing, unexpected or shaped otherwise.
    """
    variables, unknown = _model_variables(model, naming, description)
    check_mapping(_shapes(variables, unknown, description), {n: tuple(np.shape(t)) for n, t in tensors.items()},
                  f"Keras model {model.name!r}")
    for canonical_name, variable in variables.items():
        variable.assign(np.asarray(tensors[canonical_name], dtype=variable.dtype).reshape(tuple(variable.shape)))
    return model


def canonical_param(layer, variable):
    """A Keras weight's canonical parameter name: Keras 3 calls a depthwise conv's kernel `kernel`, Keras 2 and
    the canonical `depthwise_kernel`."""
    if isinstance(layer, keras.layers.DepthwiseConv2D) and variable.name == "kernel":
        return "depthwise_kernel"
    return variable.name


def _model_variables(model, naming, description):
    """({canonical tensor name: variable}, {model weight with no canonical name: shape}).

    The per-group convs of a split layout (`{layer}_group{i}`) stand together
    for their canonical conv, as one `_Groups` variable.
    """
    names = scheme(naming, description)
    known, unknown, groups = {}, {}, {}
    for layer in model.layers:
        split = _GROUP.match(layer.name)
        for variable in layer.weights:
            param = canonical_param(layer, variable)
            try:
                canonical = f"{names.canonical_layer(split.group(1) if split else layer.name)}/{param}"
            except UnknownNameError:
                canonical = None
            if canonical is None or param not in _PARAMS or canonical in known:
                unknown[f"{layer.name}/{variable.name}"] = tuple(variable.shape)
            elif split:
                groups.setdefault(canonical, {})[int(split.group(2))] = variable
            else:
                known[canonical] = variable
    for canonical, parts in groups.items():
        known[canonical] = _Groups([parts[i] for i in sorted(parts)])
    return known, unknown


class _Groups:
    """Per-group variables seen as the one grouped tensor they make (concatenated along the last axis)."""

    def __init__(self, variables):
        self.variables = variables
        first = tuple(variables[0].shape)
        self.shape = (*first[:-1], first[-1] * len(variables))
        self.dtype = variables[0].dtype

    def assign(self, value):
        for variable, part in zip(self.variables, split_groups(value, len(self.variables))):
            variable.assign(part)

    def numpy(self):
        return merge_groups([keras.ops.convert_to_numpy(v) for v in self.variables])


def _shapes(variables, unknown, description):
    """Canonical-layout shapes: a kernel held in another rank with as many elements (keras.applications'
    VGG fc1, a Dense for a canonical 7x7 conv) counts as the canonical shape (slimcompat.arch.layout)."""
    expected, kinds = description.tensors(), layout.kernel_kinds(description)
    return {**{n: layout.held_shape(kinds[n], "tensorflow", tuple(v.shape), expected[n]) if n in kinds and n in expected
               else tuple(v.shape) for n, v in variables.items()}, **unknown}


def _model_tensors(model, description, naming):
    """{canonical tensor name: variable}, after checking the model holds exactly `description.tensors()`."""
    variables, unknown = _model_variables(model, naming, description)
    check_mapping(description.tensors(), _shapes(variables, unknown, description), f"Keras model {model.name!r}")
    return variables


def _flat(canonical):
    return canonical.replace("/", "_")


class _Builder:
    """Interprets a plan into Keras layers; each canonical layer is created exactly once."""

    def __init__(self, description, naming, grouped="native"):
        self.grouped = grouped
        self.names = scheme(naming, description)
        self.residual_first = naming in _RESIDUAL_FIRST
        self.endpoints = {}
        self.side_outputs = []
        self.used = set()
        self.context = "stem"

    def _unique(self, name):
        base, n = name, 1
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        self.used.add(name)
        return name

    def _layer_name(self, canonical):
        name = self.names.layer(canonical)
        if "/" in name or name in self.used:
            raise SlimcompatError(f"naming {self.names.scheme.name!r} gives {name!r} for {canonical}: not a "
                                  f"usable Keras layer name")
        self.used.add(name)
        self.context = canonical
        return name

    def sequence(self, x, plan):
        for op in plan:
            x = getattr(self, "_" + type(op).__name__.lower())(x, op)
        return x

    def _padded(self, x, op):
        """(x, Keras padding) of a conv: explicit padding as ZeroPadding2D then VALID."""
        if op.padding == "explicit" and op.stride > 1 and max(op.size) > 1:
            pads = tuple(((k - 1) // 2, k - 1 - (k - 1) // 2) for k in op.size)
            x = keras.layers.ZeroPadding2D(pads, name=self._unique(_flat(op.layer) + "_pad"))(x)
            return x, "valid"
        return x, "valid" if op.size == (1, 1) or op.padding == "valid" else "same"

    def _conv(self, x, op):
        x, padding = self._padded(x, op)
        if op.groups > 1 and self.grouped == "split":
            return self._split_conv(x, op, padding)
        return keras.layers.Conv2D(op.filters, op.size, strides=op.stride, padding=padding, groups=op.groups,
                                   use_bias=op.bias, name=self._layer_name(op.layer))(x)

    def _depthwiseconv(self, x, op):
        x, padding = self._padded(x, op)
        return keras.layers.DepthwiseConv2D(op.kernel, strides=op.stride, padding=padding,
                                            depth_multiplier=op.multiplier, use_bias=op.bias,
                                            name=self._layer_name(op.layer))(x)

    def _split_conv(self, x, op, padding):
        """Seed 002's layout: split the channels, one Conv2D per group, concatenate."""
        name = self._layer_name(op.layer)
        width = op.in_channels // op.groups
        parts = [keras.layers.Lambda(lambda t, i=i: t[..., i * width:(i + 1) * width],
                                     name=self._unique(f"{name}_slice{i}"))(x) for i in range(op.groups)]
        outs = [keras.layers.Conv2D(op.filters // op.groups, op.size, strides=op.stride, padding=padding,
                                    use_bias=op.bias, name=self._unique(f"{name}_group{i}"))(part)
                for i, part in enumerate(parts)]
        return keras.layers.Concatenate(axis=-1, name=self._unique(f"{name}_concat"))(outs)

    def _batchnorm(self, x, op):
        return keras.layers.BatchNormalization(axis=-1, epsilon=op.epsilon, scale=op.scale,
                                               name=self._layer_name(op.layer))(x)

    def _act(self, x, op):
        return _activation(op, self._unique(f"{_flat(self.context)}_{op.kind}"))(x)

    def _pool(self, x, op, layer, kind):
        where = "stem" if self.context.startswith("stem") else _flat(self.context)
        padding = op.padding
        if padding == "pad1":
            x = keras.layers.ZeroPadding2D(1, name=self._unique(f"{where}_{kind}_pad"))(x)
            padding = "valid"
        return layer(op.size, strides=op.stride, padding=padding, name=self._unique(f"{where}_{kind}"))(x)

    def _maxpool(self, x, op):
        return self._pool(x, op, keras.layers.MaxPooling2D, "pool")

    def _avgpool(self, x, op):
        """TensorFlow's average pool: with SAME padding it divides by the pixels inside the image."""
        return self._pool(x, op, keras.layers.AveragePooling2D, "avg_pool")

    def _flatten(self, x, op):
        return keras.layers.Flatten(name=self._unique(f"{_flat(self.context)}_flatten"))(x)

    def _globalavgpool(self, x, op):
        return keras.layers.GlobalAveragePooling2D(name=self._unique("pool"))(x)

    def _dense(self, x, op):
        return keras.layers.Dense(op.units, use_bias=op.bias, name=self._layer_name(op.layer))(x)

    def _dropout(self, x, op):
        return keras.layers.Dropout(op.rate, name=self._unique("logits_dropout"))(x)

    def _softmax(self, x, op):
        return keras.layers.Softmax(name=self._unique("logits_softmax"))(x)

    def _endpoint(self, x, op):
        self.endpoints[op.name] = x._keras_history[0].name
        return x

    def _residual(self, x, op):
        unit = _flat(op.unit)
        self.context = op.unit
        inner = self.sequence(x, op.pre)
        shortcut_in = inner if op.shortcut_from == "pre" else x
        self.context = f"{op.unit}/shortcut"
        shortcut = self.sequence(shortcut_in, op.shortcut)
        residual = self.sequence(inner, op.main)
        if op.scale != 1.0:
            residual = keras.layers.Rescaling(op.scale, name=self._unique(f"{unit}_scale"))(residual)
        pair = [residual, shortcut] if self.residual_first else [shortcut, residual]
        x = keras.layers.Add(name=self._unique(f"{unit}_add"))(pair)
        self.context = f"{op.unit}/out"
        for post in op.post:
            x = self._act_named(x, post, f"{unit}_out")
        return x

    def _act_named(self, x, op, name):
        if not isinstance(op, ops.Act):
            return self.sequence(x, (op,))
        return _activation(op, self._unique(name))(x)

    def _aux(self, x, op):
        """A side head: its endpoints are recorded, its output becomes an extra model output, x goes on."""
        context = self.context
        self.context = op.unit
        self.side_outputs.append(self.sequence(x, op.ops))
        self.context = context
        return x

    def _concat(self, x, op):
        outputs = []
        for k, branch in enumerate(op.branches, start=1):
            self.context = f"{op.unit}/branch{k}"
            outputs.append(self.sequence(x, branch))
        return keras.layers.Concatenate(axis=-1, name=self._unique(f"{_flat(op.unit)}_concat"))(outputs)


def _activation(op, name):
    if op.kind == "elu":
        return keras.layers.ELU(alpha=op.alpha, name=name)
    return keras.layers.ReLU(max_value=6.0 if op.kind == "relu6" else None, name=name)
