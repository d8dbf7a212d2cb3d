"""The tf_slim ResNet as TF1 programs run it: a graph, a Session, one run for all endpoints.

The graph is built in its own `tf.Graph()` so the caller stays in eager mode.
Variables are named by tf_slim and mapped through the `slim` naming scheme;
endpoints are slim's own `end_points` where it collects them and graph tensors
(`pool1/MaxPool`, `pool5`) where it does not. Only BatchNorm epsilon can be
changed (through `resnet_arg_scope`); stem pooling and stride placement are
slim's and fixed.
"""

import numpy as np

import slimcompat  # noqa: F401  (repairs tf_slim before it is imported)
from slimcompat.errors import SlimcompatError
from slimcompat.nets.slim_resnet import slim_net_fn
from slimcompat.parity.conventions import Conventions
from slimcompat.parity.endpoints import endpoint_names, endpoint_scheme
from slimcompat.parity.implementation import Implementation, Variable, to_numpy_2d
from slimcompat.weights.metadata import SOURCE_CONVENTIONS
from slimcompat.weights.names import UnknownNameError, scheme
from slimcompat.weights.slim_checkpoint import canonical_shape

__all__ = ["SlimGraph", "slim_conventions", "slim_endpoints", "slim_variable"]

SLIM_EPSILON = 1e-5  # resnet_arg_scope's default


def slim_conventions(meta, bn_epsilon=SLIM_EPSILON):
    """What tf_slim's resnet computes with: its own epsilon, pooling, strides and preprocessing."""
    native = SOURCE_CONVENTIONS[f"slim:{meta.arch.family}"]
    return Conventions(bn_epsilon=bn_epsilon, stem_pool=native["stem_pool"],
                       stride_placement=native["stride_placement"], input=native["input"],
                       num_classes=meta.num_classes)


def slim_endpoints(arch, points, graph, classifier=True):
    """{canonical endpoint: tensor} of a slim net: its end_points, else the graph tensor of that name.

    A graph tensor may sit under an outer name scope (a Keras layer's), so a
    name also matches as the unique tensor name ending in "/" + name.
    """
    names = endpoint_scheme("slim", arch)
    out = {}
    for endpoint in endpoint_names(arch, classifier):
        name = names.layer(endpoint)
        if name in points:
            out[endpoint] = points[name]
            continue
        found = [t for op in graph.get_operations() for t in op.outputs
                 if t.name == name or t.name.endswith("/" + name)]
        if len(found) != 1:
            raise SlimcompatError(f"slim graph: {len(found)} tensors named {name!r} for endpoint {endpoint}")
        out[endpoint] = found[0]
    return out


def slim_variable(name, shape, bound):
    """Variable record of a slim variable: canonical name by the slim scheme, canonical-layout shape."""
    try:
        canonical = bound.canonical_tensor(name)
    except UnknownNameError:
        canonical = None
    return Variable(name, canonical, canonical_shape(canonical, shape))


class SlimGraph(Implementation):
    key = "slim-graph"
    title = "tf_slim graph + Session"

    def __init__(self, weights, input_shape, device="CPU", bn_epsilon=SLIM_EPSILON):
        import tensorflow as tf
        import tf_slim as slim
        meta = weights.meta
        super().__init__(meta.arch, slim_conventions(meta, bn_epsilon), device)
        self._args = (weights, input_shape, device)
        v1 = tf.compat.v1
        net_fn, arg_scope = slim_net_fn(self.arch)
        self.graph = tf.Graph()
        with self.graph.as_default(), tf.device(device):
            self.input = v1.placeholder(tf.float32, (None, *input_shape), name="input")
            with slim.arg_scope(arg_scope(batch_norm_epsilon=bn_epsilon)):
                net, points = net_fn(self.input, meta.num_classes, is_training=False)
            self.logits = net
            self._variables = v1.global_variables()
            self._feeds = {v.initializer.inputs[1]: v for v in self._variables}
            self._init = [v.initializer for v in self._variables]
        self._endpoints = slim_endpoints(self.arch, points, self.graph, meta.num_classes is not None)
        self.session = v1.Session(graph=self.graph)

    def variables(self):
        bound = scheme("slim", self.arch)
        return [slim_variable(v.op.name, v.shape.as_list(), bound) for v in self._variables]

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
        if set(changes) - {"bn_epsilon"}:
            return None
        weights, input_shape, device = self._args
        return SlimGraph(weights, input_shape, device, bn_epsilon=changes["bn_epsilon"]).load(weights)

    def close(self):
        self.session.close()
