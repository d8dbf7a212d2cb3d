"""Keras implementations: faithful to the weights, keras.applications as shipped, Keras-1 as published.

All three are Keras 3 functional models. Endpoints come from one sub-model with
one output per endpoint (a single forward pass); variables are named by the
model's layer names and mapped through the naming scheme it was built with.
The faithful and legacy models are slimcompat's Keras builds of a description,
so they can be rebuilt with any other knob, which is how the diagnosis tests
a suspected cause.
"""

from slimcompat.arch import UnknownNameError, describe, endpoint_scheme, scheme
from slimcompat.arch.conventions import source_input
from slimcompat.errors import Refusal
from slimcompat.parity.conventions import Conventions
from slimcompat.parity.implementation import Implementation, Variable, to_numpy_2d
from slimcompat.weights.keras_io import stock_model_name
from slimcompat.weights.slim_checkpoint import canonical_shape

__all__ = ["KerasModel", "faithful", "stock", "legacy"]

_PARAMS = {"kernel", "depthwise_kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"}


class KerasModel(Implementation):
    """A Keras functional model of a description, named by weight scheme `naming`, endpoints at `endpoints`."""

    def __init__(self, key, title, model, naming, endpoints, conventions, device, input_shape, rebuildable):
        super().__init__(conventions, device)
        self.key, self.title, self.model, self.naming = key, title, model, naming
        self.input_shape, self.rebuildable = input_shape, rebuildable
        import keras
        self._names = list(endpoints)
        self._sub = keras.Model(model.input, [model.get_layer(n).output for n in endpoints.values()])

    def variables(self):
        """Each weight with its canonical name and its shape in the canonical layout (a classifier held as a
        1x1 conv, keras.applications' MobileNet `conv_preds`, is the Dense it computes)."""
        from slimcompat.nets.keras_net import canonical_param
        bound, expected = scheme(self.naming, self.arch), self.arch.tensors()
        out = []
        for layer in self.model.layers:
            for w in layer.weights:
                param = canonical_param(layer, w)
                try:
                    canonical = f"{bound.canonical_layer(layer.name)}/{param}" if param in _PARAMS else None
                except UnknownNameError:
                    canonical = None
                shape = tuple(w.shape) if canonical is None else canonical_shape(canonical, w.shape,
                                                                                  expected.get(canonical))
                out.append(Variable(f"{layer.name}/{w.name}", canonical, shape))
        return out

    def _assign(self, by_canonical, tensors):
        import numpy as np
        layers = {layer.name: layer for layer in self.model.layers}
        for canonical_name, v in by_canonical.items():
            layer, _, param = v.name.rpartition("/")
            variable = next(w for w in layers[layer].weights if w.name == param)
            value = np.asarray(tensors[canonical_name], dtype=variable.dtype)
            variable.assign(value.reshape(tuple(variable.shape)))

    def _call(self, model, model_input):
        import tensorflow as tf
        with tf.device(self.device):
            return model(model_input, training=False)

    def endpoints(self, model_input):
        return to_numpy_2d(dict(zip(self._names, self._call(self._sub, model_input))))

    def forward(self, model_input):
        return self._call(self.model, model_input).numpy()

    def variant(self, **changes):
        if not self.rebuildable:
            return None
        conventions = self.conventions.replace(**changes)
        title = f"{self.key} rebuilt with " + ", ".join(f"{k}={v}" for k, v in changes.items())
        return _built(self.key, title, conventions, self.naming, self.device, self.input_shape).load(self.weights)


def _built(key, title, conventions, naming, device, input_shape):
    from slimcompat.nets import keras_net
    model = keras_net.build(conventions.description, naming=naming, input_shape=input_shape)
    return KerasModel(key, title, model, naming, keras_net.endpoint_layers(model), conventions, device,
                      input_shape, rebuildable=True)


def faithful(weights, input_shape, device="CPU"):
    """Built to the weights' own description: computes what their source computed."""
    return _built("keras-faithful", "Keras model faithful to the weights' description", Conventions.of(weights.meta),
                  "keras", device, input_shape)


def stock(weights, input_shape, device="CPU"):
    """keras.applications as shipped, with its own epsilon, stem pool, strides and preprocessing."""
    import keras
    meta = weights.meta
    name = stock_model_name(meta.description)
    if name is None:
        raise Refusal(f"keras.applications has no {meta.architecture}: compare keras-faithful instead")
    description = describe(name, num_classes=meta.num_classes)
    top = meta.num_classes is not None
    model = getattr(keras.applications, name)(weights=None, include_top=top, input_shape=input_shape,
                                              classes=meta.num_classes or 1000, classifier_activation=None)
    ends = endpoint_scheme("keras.applications", description)
    endpoints = {e: ends.layer(e) for e in description.endpoint_names()}
    conventions = Conventions(description, source_input("keras", description))
    return KerasModel("keras-stock", f"keras.applications.{name}", model, "keras", endpoints, conventions, device,
                      input_shape, rebuildable=False)


def legacy(weights, input_shape, device="CPU"):
    """The Keras-1 ResNet50 of 2016 as published: Caffe names, epsilon 1e-3, stem pool without padding."""
    meta = weights.meta
    if meta.architecture != "resnet_v1_50":
        raise Refusal(f"the Keras-1 release has only ResNet50 (resnet_v1_50), not {meta.architecture}: compare "
                      f"keras-faithful instead")
    description = describe("keras1:resnet_v1_50", num_classes=meta.num_classes)
    conventions = Conventions(description, source_input("keras1", description))
    return _built("keras-legacy", "Keras-1 ResNet50 as published (2016)", conventions, "keras1", device,
                  input_shape)
