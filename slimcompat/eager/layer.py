"""A slim model function as a tf-keras layer whose variables are the TF1 graph's.

`SlimLayer.call` runs the model function unchanged under tf-keras'
`track_tf1_style_variables`: the first call creates each variable through the
shim's variable store (named by the variable scopes, exactly as in the TF1
graph), later calls and `tf.function` traces reuse them. Regularizers given to
slim layers land in `layer.losses`; BatchNorm moving statistics update when
the layer is called with training=True, eagerly or traced.
"""

import numpy as np
import tensorflow as tf
import tf_keras
from tf_keras.api._v1.keras.utils import track_tf1_style_variables  # tf-keras' public TF1 API

__all__ = ["SlimLayer", "track_tf1_style_variables"]


class SlimLayer(tf_keras.layers.Layer):
    """`model_fn(inputs, **fn_kwargs, is_training=training)` as a layer, inside `arg_scope`.

    model_fn: a slim net (`tf_slim.nets.resnet_v2.resnet_v2_50`) or any function
      built from slim layers; it may return `net` or `(net, end_points)`.
    arg_scope: a saved slim arg scope (the dict `resnet_arg_scope()` returns), a
      callable returning one (called at every call, so the scope is made inside
      the layer), or None.
    training_arg: the name under which model_fn takes the training flag, None if
      it takes none. Keras' `training` is passed as a Python bool, so slim's
      batch_norm and dropout choose their branch when the function is traced.
    squeeze_spatial: drop axes 1 and 2 of `net` (slim ResNets give [N, 1, 1, C]).
    """

    def __init__(self, model_fn, *, arg_scope=None, training_arg="is_training", squeeze_spatial=False,
                 name=None, **fn_kwargs):
        super().__init__(name=name or getattr(model_fn, "__name__", "slim_layer"))
        self.model_fn = model_fn
        self.arg_scope = arg_scope
        self.training_arg = training_arg
        self.squeeze_spatial = squeeze_spatial
        self.fn_kwargs = fn_kwargs
        self._infer = None

    @track_tf1_style_variables
    def call(self, inputs, training=None, end_points=False):
        """`net`, or `(net, end_points)` when end_points=True."""
        if tf.is_tensor(training) and tf.get_static_value(training) is not None:
            training = tf.get_static_value(training)
        net, points = self.forward(inputs, training if tf.is_tensor(training) else bool(training))
        return (net, points) if end_points else net

    def forward(self, inputs, training):
        """(net, end_points) of the model function on `inputs`, in whatever graph or eager context is current.

        `call` runs it under the variable-tracking shim; `GraphNet` runs it in a TF1 graph.
        """
        import tf_slim as slim
        kwargs = dict(self.fn_kwargs)
        if self.training_arg:
            kwargs[self.training_arg] = training
        scope = self.arg_scope() if callable(self.arg_scope) else (self.arg_scope or {})
        with slim.arg_scope(scope):
            result = self.model_fn(inputs, **kwargs)
        net, points = result if isinstance(result, tuple) and len(result) == 2 else (result, {})
        if self.squeeze_spatial:
            net = tf.squeeze(net, [1, 2])
        return net, dict(points)

    def infer(self, images, end_points=True):
        """Inference-mode outputs for a numpy batch, as numpy: `(net, {end point: value})` or `net`.

        Runs under one tf.function (retraced only for a new input shape). A layer
        without variables yet is first called eagerly, which creates them.
        """
        images = tf.convert_to_tensor(np.asarray(images, dtype=np.float32))
        if not self.weights:
            self(images[:1], training=False)
        if self._infer is None:
            self._infer = tf.function(lambda x: self(x, training=False, end_points=True))
        net, points = self._infer(images)
        net = net.numpy()
        return (net, {k: v.numpy() for k, v in points.items()}) if end_points else net
