"""The slim net as TF1 programs run it: a graph, a Session, one run for all endpoints.

The net is `slimcompat.nets.slim_net`'s for the weights' description (op for
op tf_slim's own for resnet_v1/v2_50..200), built in its own `tf.Graph()` so
the caller stays in eager mode. Variables are named by the slim naming scheme;
endpoints are the net's `end_points`. Every knob can be changed by rebuilding
(`variant`), which is how the diagnosis tests a suspected cause.
"""

import numpy as np

import slimcompat  # noqa: F401  (repairs tf_slim before it is imported)
from slimcompat.arch import UnknownNameError, endpoint_scheme, scheme
from slimcompat.errors import SlimcompatError
from slimcompat.parity.conventions import Conventions
from slimcompat.parity.implementation import Implementation, Variable, to_numpy_2d
from slimcompat.weights.slim_checkpoint import canonical_shape

__all__ = ["SlimGraph", "slim_endpoints", "slim_variable"]


def slim_endpoints(description, points):
    """{canonical endpoint: tensor} of a slim net's end_points."""
    names = endpoint_scheme("slim", description)
    out = {}
    for endpoint in description.endpoint_names():
        name = names.layer(endpoint)
        found = [key for key in points if key == name or key.endswith("/" + name)]
        if name in found:   # the key as the slim net names it, beside layers' outputs whose scopes end alike
            found = [name]
        if len(found) != 1:
            raise SlimcompatError(f"slim net: {len(found)} end points named {name!r} for endpoint {endpoint}")
        out[endpoint] = points[found[0]]
    return out


def slim_variable(name, shape, bound, expected=None):
    """Variable record of a slim variable: canonical name by the slim scheme, canonical-layout shape.

    expected: {canonical name: shape} of the description (a classifier held as
    a 1x1 conv in both, VGG's, keeps its rank; the rank-2 rule is a guess).
    """
    try:
        canonical = bound.canonical_tensor(name)
    except UnknownNameError:
        canonical = None
    return Variable(name, canonical, canonical_shape(canonical, shape, (expected or {}).get(canonical)))


class SlimGraph(Implementation):
    key = "slim-graph"
    title = "slim net in a TF1 graph + Session"

    def __init__(self, weights, input_shape, device="CPU", conventions=None):
        import tensorflow as tf
        import tf_slim as slim
        from slimcompat.nets import slim_net
        super().__init__(conventions or Conventions.of(weights.meta), device)
        self._args = (weights, input_shape, device)
        v1 = tf.compat.v1
        self.graph = tf.Graph()
        with self.graph.as_default(), tf.device(device):
            self.input = v1.placeholder(tf.float32, (None, *input_shape), name="input")
            with slim.arg_scope(slim_net.arg_scope_for(self.arch)):
                net, points = slim_net.net_fn(self.arch)(self.input, is_training=False)
            self.logits = net
            self._variables = v1.global_variables()
            self._feeds = {v.initializer.inputs[1]: v for v in self._variables}
            self._init = [v.initializer for v in self._variables]
        self._endpoints = slim_endpoints(self.arch, points)
        self.session = v1.Session(graph=self.graph)

    def variables(self):
        bound = scheme("slim", self.arch)
        expected = self.arch.tensors()
        return [slim_variable(v.op.name, v.shape.as_list(), bound, expected) for v in self._variables]

    def _assign(self, by_canonical, tensors):
        """Run every initializer with its initial value fed from the weights: one Session.run."""
        values = {v.name: np.asarray(tensors[c], np.float32) for c, v in by_canonical.items()}
        feeds = {t: values[v.op.name].reshape(v.shape.as_list()) for t, v in self._feeds.items()}
        self.session.run(self._init, feeds)

    def endpoints(self, model_input):
        return to_numpy_2d(self.session.run(self._endpoints, {self.input: model_input}))

    def forward(self, model_input):
        return self.session.run(self.logits, {self.input: model_input})

    def variant(self, **changes):
        weights, input_shape, device = self._args
        rebuilt = SlimGraph(weights, input_shape, device, self.conventions.replace(**changes))
        rebuilt.title = f"{self.key} rebuilt with " + ", ".join(f"{k}={v}" for k, v in changes.items())
        return rebuilt.load(self.weights)

    def close(self):
        self.session.close()
