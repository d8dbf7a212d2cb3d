"""Keras 3 ResNets built from the one architecture description, named by any scheme.

`build` walks `arch.layers()` to create the Keras layers, so shapes, biases and
names come from `slimcompat.nets.arch` and `slimcompat.weights.names` rather
than from per-depth code; the residual wiring is the only thing written here.
The options that change outputs without changing a single tensor shape (stride
placement, stem pooling, BatchNorm epsilon) are arguments, because the
implementations we convert between disagree on each of them:

- keras.applications ResNet50/101/152: stride on a stage's first 1x1 conv and
  its shortcut, stem pool `pad1`, convs with biases (`conv_bias=True`).
- keras.applications ResNet50V2...: stride on the last unit's 3x3 conv, a 1x1
  max-pool shortcut for that unit, stem pool `pad1`.
- slim resnet_v1/v2: stride like ResNetV2 (also for v1), stem pool `same`.
- the Keras-1 ResNet50 of 2016: like keras.applications ResNet50 but stem pool
  `valid` and Caffe layer names (naming="keras1").

`canonical_weights` and `set_canonical_weights` move weights between such a
model and canonical tensor names, checking the whole mapping first.
"""

import keras
import numpy as np

from slimcompat.errors import SlimcompatError
from slimcompat.nets.arch import STRIDE_PLACEMENTS
from slimcompat.weights.mapping import check_mapping
from slimcompat.weights.metadata import STEM_POOLS
from slimcompat.weights.names import UnknownNameError, scheme

__all__ = ["build", "canonical_weights", "set_canonical_weights", "default_stride_placement"]

_DEFAULT_STRIDES = {"resnet_v1": "first_unit_1x1", "resnet_v2": "last_unit_3x3"}
_PARAMS = {"kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"}

# Keras orders a functional model's layers by depth, then by the order a
# depth-first walk from the output meets them, so the order of the Add inputs
# decides the layer order and hence the order legacy .h5 files are loaded in.
# keras.applications adds [shortcut, residual]; the Keras-1 ResNet50 merged
# [residual, shortcut].
_RESIDUAL_FIRST = {"keras1"}


def default_stride_placement(arch):
    """Where `arch`'s family strides unless told otherwise (Keras/Caffe v1, Keras V2/slim v2)."""
    return _DEFAULT_STRIDES[arch.family]


def build(arch, *, naming="keras", num_classes=1000, include_top=True, bn_epsilon=1.001e-5,
          stem_pool="pad1", stride_placement=None, input_shape=(224, 224, 3),
          classifier_activation="softmax", name=None):
    """A Keras functional model of `arch` whose weights are exactly `arch.tensors()`.

    naming: scheme whose layer names the model uses ("keras", "keras1").
    include_top: add global average pooling and the classifier `logits`.
    stem_pool: one of `slimcompat.weights.metadata.STEM_POOLS`.
    stride_placement: one of `slimcompat.nets.arch.STRIDE_PLACEMENTS`
        (default: the family's, see `default_stride_placement`).
    """
    stride_placement = stride_placement or default_stride_placement(arch)
    _check_option("stem_pool", stem_pool, STEM_POOLS)
    _check_option("stride_placement", stride_placement, STRIDE_PLACEMENTS)
    classes = num_classes if include_top else None
    builder = _Builder(arch, naming, classes, bn_epsilon)
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = builder.stem(inputs, stem_pool)
    for s, n, _, _, _ in arch.stage_io():
        for u in range(1, n + 1):
            x = builder.unit(x, s, u, _unit_stride(arch, stride_placement, s, u, n), stride_placement)
    x = builder.head(x, classifier_activation)
    builder.check_all_used()
    model = keras.Model(inputs, x, name=name or f"{arch.name}_{naming}")
    _model_tensors(model, arch, naming, classes)
    return model


def canonical_weights(model, arch, naming="keras", num_classes=1000):
    """{canonical tensor name: ndarray} of a Keras model named by `naming`.

    The model must hold exactly `arch.tensors(num_classes)` (num_classes None:
    no classifier); MappingError otherwise.
    """
    variables = _model_tensors(model, arch, naming, num_classes)
    return {name: np.asarray(keras.ops.convert_to_numpy(variables[name]))
            for name in arch.tensors(num_classes)}


def set_canonical_weights(model, arch, naming, tensors):
    """Assign canonical `tensors` to `model`; nothing is assigned unless all of them fit.

    The model's weights and `tensors` must map one-to-one with equal shapes;
    MappingError lists what is missing, unexpected or shaped otherwise.
    """
    variables, unknown = _model_variables(model, naming, arch)
    check_mapping(_shapes(variables, unknown), {n: tuple(np.shape(t)) for n, t in tensors.items()},
                  f"Keras model {model.name!r}")
    for canonical_name, variable in variables.items():
        variable.assign(np.asarray(tensors[canonical_name], dtype=variable.dtype))
    return model


def _check_option(label, value, known):
    if value not in known:
        raise SlimcompatError(f"unknown {label} {value!r}; known: {', '.join(known)}")


def _unit_stride(arch, placement, s, u, n):
    """Spatial stride of unit u (of n) in stage s."""
    last_stage = len(arch.units)
    if placement == "first_unit_1x1":
        return 2 if (u == 1 and s > 1) else 1
    return 2 if (u == n and s < last_stage) else 1


def _model_variables(model, naming, arch):
    """({canonical tensor name: variable}, {model weight with no canonical name: shape})."""
    names = scheme(naming, arch)
    known, unknown = {}, {}
    for layer in model.layers:
        for variable in layer.weights:
            try:
                canonical = f"{names.canonical_layer(layer.name)}/{variable.name}"
            except UnknownNameError:
                canonical = None
            if canonical is None or variable.name not in _PARAMS or canonical in known:
                unknown[f"{layer.name}/{variable.name}"] = tuple(variable.shape)
            else:
                known[canonical] = variable
    return known, unknown


def _shapes(variables, unknown):
    return {**{n: tuple(v.shape) for n, v in variables.items()}, **unknown}


def _model_tensors(model, arch, naming, num_classes):
    """{canonical tensor name: variable}, after checking the model holds exactly `arch.tensors(num_classes)`."""
    variables, unknown = _model_variables(model, naming, arch)
    check_mapping(arch.tensors(num_classes), _shapes(variables, unknown), f"Keras model {model.name!r}")
    return variables


def _aux(canonical, role):
    """Name of a weightless layer: canonical path plus role, never clashing with a scheme name."""
    return f"{canonical.replace('/', '_')}_{role}"


class _Builder:
    """Creates the Keras layers for canonical layers, each exactly once."""

    def __init__(self, arch, naming, num_classes, bn_epsilon):
        self.arch = arch
        self.names = scheme(naming, arch)
        self.residual_first = naming in _RESIDUAL_FIRST
        self.epsilon = bn_epsilon
        self.specs = {layer.name: layer for layer in arch.layers(num_classes)}
        self.used = set()
        for spec in self.specs.values():
            if "/" in self.names.layer(spec.name):
                raise SlimcompatError(f"naming {naming!r} gives {self.names.layer(spec.name)!r}: "
                                      f"Keras layer names cannot contain '/'")

    def _spec(self, canonical):
        if canonical in self.used:
            raise SlimcompatError(f"internal: canonical layer {canonical} built twice")
        self.used.add(canonical)
        return self.specs[canonical]

    def has(self, canonical):
        return canonical in self.specs

    def conv(self, x, canonical, stride=1, padding="same"):
        """Conv of a canonical layer; padding "pad" = symmetric (k-1)/2 then VALID (slim conv2d_same)."""
        spec = self._spec(canonical)
        kh, kw, _, filters = spec.shape
        if padding == "pad":
            before, after = (kh - 1) // 2, kh - 1 - (kh - 1) // 2
            x = keras.layers.ZeroPadding2D(((before, after), (before, after)), name=_aux(canonical, "pad"))(x)
            padding = "valid"
        if kh == 1:
            padding = "valid"
        return keras.layers.Conv2D(filters, (kh, kw), strides=stride, padding=padding, use_bias=spec.bias,
                                   name=self.names.layer(canonical))(x)

    def bn(self, x, canonical, relu=False):
        self._spec(canonical)
        x = keras.layers.BatchNormalization(axis=-1, epsilon=self.epsilon, name=self.names.layer(canonical))(x)
        return keras.layers.ReLU(name=_aux(canonical, "relu"))(x) if relu else x

    def conv_bn(self, x, canonical, stride=1, padding="same", relu=True):
        """Conv, then its BatchNorm (+ReLU) if the architecture has one for it."""
        x = self.conv(x, canonical, stride, padding)
        if self.has(f"{canonical}/bn"):
            return self.bn(x, f"{canonical}/bn", relu)
        return keras.layers.ReLU(name=_aux(canonical, "relu"))(x) if relu else x

    def stem(self, inputs, stem_pool):
        x = self.conv(inputs, "stem/conv", stride=2, padding="pad")
        if self.has("stem/conv/bn"):
            x = self.bn(x, "stem/conv/bn", relu=True)
        if stem_pool == "pad1":
            x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
        return keras.layers.MaxPooling2D(3, strides=2, padding="same" if stem_pool == "same" else "valid",
                                         name="stem_pool")(x)

    def unit(self, x, s, u, stride, placement):
        """One bottleneck unit; pre-activation when the architecture has a `preact` BatchNorm."""
        unit = f"stage{s}/unit{u}"
        first_1x1 = placement == "first_unit_1x1"
        inner = self.bn(x, f"{unit}/preact", relu=True) if self.has(f"{unit}/preact") else x
        if self.has(f"{unit}/shortcut"):
            shortcut = self.conv_bn(inner, f"{unit}/shortcut", stride=stride, relu=False)
        elif stride > 1:
            shortcut = keras.layers.MaxPooling2D(1, strides=stride, name=_aux(unit, "shortcut_pool"))(x)
        else:
            shortcut = x
        r = self.conv_bn(inner, f"{unit}/conv1", stride=stride if first_1x1 else 1)
        r = self.conv_bn(r, f"{unit}/conv2", stride=1 if first_1x1 else stride,
                         padding="same" if first_1x1 else "pad")
        r = self.conv_bn(r, f"{unit}/conv3", relu=False)
        pair = [r, shortcut] if self.residual_first else [shortcut, r]
        x = keras.layers.Add(name=_aux(unit, "add"))(pair)
        if self.arch.preact:
            return x
        return keras.layers.ReLU(name=_aux(unit, "out"))(x)

    def head(self, x, classifier_activation):
        if self.has("postnorm"):
            x = self.bn(x, "postnorm", relu=True)
        if not self.has("logits"):
            return x
        spec = self._spec("logits")
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
        return keras.layers.Dense(spec.shape[1], activation=classifier_activation,
                                  name=self.names.layer("logits"))(x)

    def check_all_used(self):
        left = [n for n in self.specs if n not in self.used]
        if left:
            raise SlimcompatError(f"internal: canonical layers not built: {', '.join(left[:4])}")
