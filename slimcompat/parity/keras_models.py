"""Keras implementations: faithful to the weights, keras.applications as shipped, Keras-1 as published.

All three are Keras 3 functional models. Endpoints come from one sub-model with
one output per endpoint (a single forward pass); variables are named by the
model's layer names and mapped through the naming scheme it was built with.
Each can be rebuilt with other conventions (stem pool, epsilon, stride
placement) by slimcompat's Keras builder, which is how the diagnosis tests a
suspected cause.
"""

from slimcompat.errors import SlimcompatError
from slimcompat.nets.arch import ResNet
from slimcompat.parity.conventions import Conventions
from slimcompat.parity.endpoints import endpoint_names, endpoint_scheme
from slimcompat.parity.implementation import Implementation, Variable, to_numpy_2d
from slimcompat.weights.keras_io import STOCK_MODELS
from slimcompat.weights.metadata import SOURCE_CONVENTIONS
from slimcompat.weights.names import UnknownNameError, scheme

__all__ = ["KerasModel", "faithful", "stock", "legacy"]

_PARAMS = {"kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"}


class KerasModel(Implementation):
    """A Keras functional model of `arch` named by weight scheme `naming` and endpoint scheme `endpoints`."""

    def __init__(self, key, title, model, arch, naming, endpoints, conventions, device, input_shape):
        super().__init__(arch, conventions, device)
        self.key, self.title, self.model, self.naming = key, title, model, naming
        self.input_shape = input_shape
        import keras
        ends = endpoint_scheme(endpoints, arch)
        weight_names = scheme(naming, arch)
        names = {e: _endpoint_layer(ends, weight_names, e)
                 for e in endpoint_names(arch, conventions.num_classes is not None)}
        self._names = list(names)
        self._sub = keras.Model(model.input, [model.get_layer(n).output for n in names.values()])

    def variables(self):
        bound = scheme(self.naming, self.arch)
        out = []
        for layer in self.model.layers:
            for w in layer.weights:
                try:
                    canonical = f"{bound.canonical_layer(layer.name)}/{w.name}" if w.name in _PARAMS else None
                except UnknownNameError:
                    canonical = None
                out.append(Variable(f"{layer.name}/{w.name}", canonical, tuple(w.shape)))
        return out

    def _assign(self, by_canonical, tensors):
        import numpy as np
        layers = {layer.name: layer for layer in self.model.layers}
        for canonical_name, v in by_canonical.items():
            layer, _, param = v.name.rpartition("/")
            variable = next(w for w in layers[layer].weights if w.name == param)
            variable.assign(np.asarray(tensors[canonical_name], dtype=variable.dtype))

    def _call(self, model, model_input):
        import tensorflow as tf
        with tf.device(self.device):
            return model(model_input, training=False)

    def endpoints(self, model_input):
        outputs = self._call(self._sub, model_input)
        return to_numpy_2d({n: o.numpy() for n, o in zip(self._names, outputs)})

    def forward(self, model_input):
        return self._call(self.model, model_input).numpy()

    def variant(self, **changes):
        conventions = Conventions(**{**self.conventions.__dict__, **changes})
        model = _built(self.arch, "keras", conventions, self.input_shape)
        title = f"{self.key} rebuilt with " + ", ".join(f"{k}={v}" for k, v in changes.items())
        return KerasModel(self.key, title, model, self.arch, "keras", f"built:{self.arch.family}", conventions,
                          self.device, self.input_shape).load(self.weights)


def _endpoint_layer(ends, weight_names, endpoint):
    try:
        return ends.layer(endpoint)
    except UnknownNameError:  # the builder's classifier is named by its weight scheme
        return weight_names.layer(endpoint)


def _native(meta, source):
    """`meta`'s conventions with what implementation `source` fixes regardless of the weights."""
    native = SOURCE_CONVENTIONS[source]
    return Conventions.of(meta, **{k: native[k] for k in ("bn_epsilon", "stem_pool", "stride_placement", "input")})


def _built(arch, naming, conventions, input_shape):
    from slimcompat.nets import keras_resnet
    return keras_resnet.build(arch, naming=naming, num_classes=conventions.num_classes,
                              include_top=conventions.num_classes is not None, bn_epsilon=conventions.bn_epsilon,
                              stem_pool=conventions.stem_pool, stride_placement=conventions.stride_placement,
                              input_shape=input_shape, classifier_activation=None)


def faithful(weights, input_shape, device="CPU"):
    """Built to the weights' own metadata: computes what their source computed."""
    conventions = Conventions.of(weights.meta)
    arch = weights.meta.arch
    return KerasModel("keras-faithful", "Keras model faithful to the weights' metadata",
                      _built(arch, "keras", conventions, input_shape), arch, "keras", f"built:{arch.family}",
                      conventions, device, input_shape)


def stock(weights, input_shape, device="CPU"):
    """keras.applications as shipped, with its own epsilon, stem pool, strides and preprocessing."""
    import keras
    meta = weights.meta
    name = STOCK_MODELS.get((meta.arch.family, meta.arch.depth))
    if name is None:
        raise SlimcompatError(f"keras.applications has no {meta.architecture}")
    conventions = _native(meta, f"keras:{meta.arch.family}")
    top = meta.num_classes is not None
    model = getattr(keras.applications, name)(weights=None, include_top=top, input_shape=input_shape,
                                              classes=meta.num_classes or 1000, classifier_activation=None)
    conv_bias = SOURCE_CONVENTIONS[f"keras:{meta.arch.family}"]["conv_bias"]
    arch = ResNet(meta.arch.family, meta.arch.depth, conv_bias=conv_bias)
    return KerasModel("keras-stock", f"keras.applications.{name}", model, arch, "keras", "keras.applications",
                      conventions, device, input_shape)


def legacy(weights, input_shape, device="CPU"):
    """The Keras-1 ResNet50 of 2016 as published: Caffe names, epsilon 1e-3, stem pool without padding."""
    meta = weights.meta
    if (meta.arch.family, meta.arch.depth) != ("resnet_v1", 50):
        raise SlimcompatError(f"the Keras-1 release has only ResNet50 (resnet_v1_50), not {meta.architecture}")
    conventions = _native(meta, "keras1:resnet_v1")
    arch = ResNet("resnet_v1", 50, conv_bias=True)
    return KerasModel("keras-legacy", "Keras-1 ResNet50 as published (2016)",
                      _built(arch, "keras1", conventions, input_shape), arch, "keras1", "built:resnet_v1",
                      conventions, device, input_shape)
