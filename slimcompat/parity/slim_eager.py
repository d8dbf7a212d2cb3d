"""The slim net as a TF2 eager layer (slimcompat.eager).

The layer is slimcompat.eager's own `net_layer` for the weights' description,
loaded by its own `load_weights`. Endpoints come from one function of the
layer's call, traced once per input shape and pruned to the end_points tensors.
"""

import slimcompat  # noqa: F401  (repairs tf_slim before it is imported)
from slimcompat.arch import scheme
from slimcompat.parity.conventions import Conventions
from slimcompat.parity.implementation import Implementation, to_numpy_2d
from slimcompat.parity.slim_graph import slim_endpoints, slim_variable

__all__ = ["SlimEager"]


class SlimEager(Implementation):
    key = "slim-eager"
    title = "tf_slim net as a TF2 eager tf-keras layer"

    def __init__(self, weights, input_shape, device="CPU"):
        import tensorflow as tf
        import slimcompat.eager as se
        super().__init__(Conventions.of(weights.meta), device)
        with tf.device(device):
            self.layer = se.net_layer(self.arch)
        self.input_shape = input_shape
        self._pruned = None

    def variables(self):
        import slimcompat.eager as se
        bound = scheme("slim", self.arch)
        expected = self.arch.tensors()
        return [slim_variable(name, v.shape, bound, expected) for name, v in se.slim_variables(self.layer).items()]

    def load(self, weights=None):
        import slimcompat.eager as se
        self.weights = weights or self.source
        se.load_weights(self.layer, self.weights)
        return self

    def _function(self):
        """The layer's call as one function of the batch, pruned to the endpoint tensors."""
        import tensorflow as tf
        if self._pruned is None:
            spec = tf.TensorSpec((None, *self.input_shape), tf.float32)
            with tf.device(self.device):
                wrapped = tf.compat.v1.wrap_function(
                    lambda x: self.layer(x, training=False, end_points=True), [spec])
            _, points = wrapped.structured_outputs
            fetches = slim_endpoints(self.arch, points)
            self._pruned = wrapped.prune(wrapped.graph.inputs[0], fetches)
        return self._pruned

    def endpoints(self, model_input):
        import tensorflow as tf
        with tf.device(self.device):
            out = self._function()(tf.constant(model_input))
        return to_numpy_2d(out)

    def forward(self, model_input):
        import tensorflow as tf
        with tf.device(self.device):
            return self.layer.infer(model_input, end_points=False)
