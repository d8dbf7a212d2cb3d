"""A SlimLayer as a whole tf-keras model (for fit) and as a SavedModel (for serving).

The model is subclassed rather than functional: a functional model would call
the layer on symbolic Keras tensors in a scratch graph, where the TF1 variable
store must not create the real variables. Subclassed, the layer only ever runs
on real tensors, eagerly or under tf.function, as in `fit`.
"""

import tensorflow as tf
import tf_keras

from slimcompat.errors import SlimcompatError

__all__ = ["SlimModel", "keras_model", "export_saved_model", "SERVING_INPUT", "SERVING_OUTPUT"]

SERVING_INPUT = "images"
SERVING_OUTPUT = "output"


class SlimModel(tf_keras.Model):
    """A tf_keras.Model whose forward pass is one SlimLayer (its `net` output)."""

    def __init__(self, layer, input_shape, name=None):
        super().__init__(name=name or f"{layer.name}_model")
        self.slim = layer
        self.image_shape = tuple(input_shape)

    def call(self, inputs, training=None):
        return self.slim(inputs, training=training)

    def get_config(self):
        """Input shape only: the model function is code, rebuilt by the caller (tf.saved_model needs no config)."""
        return {"name": self.name, "input_shape": self.image_shape}


def keras_model(layer, input_shape, name=None):
    """A tf_keras model of `layer` for inputs [batch, *input_shape]; built (variables exist)."""
    model = SlimModel(layer, input_shape, name)
    model.build((None, *input_shape))
    if not layer.weights:
        model(tf.zeros((1, *input_shape)), training=False)
    return model


def export_saved_model(model, path, input_shape=None):
    """Save `model` (a SlimModel, or a SlimLayer) as a SavedModel with signature `serving_default`.

    The signature takes float32 `images` [None, *input_shape] and returns
    {"output": net} computed in inference mode. Reload with
    `tf.saved_model.load(path).signatures["serving_default"]`.
    """
    if not isinstance(model, SlimModel):
        if input_shape is None:
            raise SlimcompatError("export_saved_model of a layer needs input_shape, e.g. (224, 224, 3)")
        model = keras_model(model, input_shape)
    shape = tuple(input_shape or model.image_shape)

    @tf.function(input_signature=[tf.TensorSpec((None, *shape), tf.float32, name=SERVING_INPUT)])
    def serve(images):
        return {SERVING_OUTPUT: model(images, training=False)}

    tf.saved_model.save(model, str(path), signatures={"serving_default": serve})
    return path
