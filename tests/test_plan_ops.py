"""Every plan op in every builder: Keras, the slim graph, the eager layer and the PyTorch module agree.

A toy family declared here (not registered) uses each op the MobileNets, VGG
and the Inceptions need: depthwise convs (multiplier 1 and 2), SAME and VALID
average pools, BatchNorm without scale, relu6, a VALID conv, a residual scaled
by 0.2 around a Concat, an auxiliary head and Flatten + Dense. Random weights
with non-trivial BatchNorm statistics; every endpoint compared at an odd and
an even input size, so TensorFlow's asymmetric SAME padding is exercised.
The layout rule of slimcompat.arch.layout is checked both ways against the
frameworks' own convolutions.
"""

import dataclasses
from typing import Optional

import numpy as np
import pytest

from slimcompat.arch import layout, ops
from slimcompat.arch.description import Description
from slimcompat.arch.family import Family

SIZES = (33, 32)
TOLERANCE = 1e-5


@dataclasses.dataclass(frozen=True)
class Toy(Description):
    image_size: int = 33
    bn_epsilon: float = 1e-3
    l2: float = 0.0
    num_classes: Optional[int] = 10
    background_class: bool = False

    family = "toy_ops"

    @property
    def name(self):
        return f"toy_ops_{self.image_size}"

    def scheme_constants(self):
        return {"scope": "ToyNet"}

    def _plan(self):
        eps = self.bn_epsilon
        relu, relu6 = ops.Act("relu"), ops.Act("relu6")
        side = (self.image_size - 3) // 2 + 1                       # the VALID stem
        out = [ops.Conv("stem/conv", 3, 2, 3, 8, padding="valid"), ops.BatchNorm("stem/conv/bn", 8, eps), relu6,
               ops.Endpoint("stem"),
               ops.DepthwiseConv("dw1/depthwise", 3, 1, 8), ops.BatchNorm("dw1/depthwise/bn", 8, eps, scale=False),
               relu6, ops.Conv("dw1/pointwise", 1, 1, 8, 16), ops.BatchNorm("dw1/pointwise/bn", 16, eps), relu,
               ops.Endpoint("block1"),
               ops.DepthwiseConv("dw2/depthwise", 3, 2, 16, multiplier=2, bias=True),
               ops.BatchNorm("dw2/depthwise/bn", 32, eps, scale=False), relu6, ops.Endpoint("block2")]
        side = -(-side // 2)
        branches = []
        for k, (pool, kernel) in enumerate(((False, 1), (True, 1), (False, 3)), start=1):
            layer = f"mix/branch{k}/conv"
            branches.append(((ops.AvgPool(3, 1, "same"),) if pool else ())
                            + (ops.Conv(layer, kernel, 1, 32, 8), ops.BatchNorm(f"{layer}/bn", 8, eps), relu))
        main = (ops.Concat("mix/concat", tuple(branches)), ops.Conv("mix/up", 1, 1, 24, 32, bias=True))
        out += [ops.Residual("mix", main, post=(relu,), scale=0.2), ops.Endpoint("mix")]
        aux_side = (side - 5) // 3 + 1
        out.append(ops.Aux("aux", (ops.AvgPool(5, 3, "valid"), ops.Conv("aux/conv", 1, 1, 32, 8),
                                   ops.BatchNorm("aux/conv/bn", 8, eps), relu, ops.Flatten(),
                                   ops.Dense("aux/logits", aux_side * aux_side * 8, 5), ops.Endpoint("aux_logits"))))
        side = -(-side // 2)
        out += [ops.AvgPool(3, 2, "same"), ops.Endpoint("pooled"), ops.Flatten(),
                ops.Dense("logits", side * side * 32, self.num_classes), ops.Endpoint("logits")]
        return tuple(out)


_MIX = "mix/branch{k}/conv"
LAYERS = {
    "slim": (("stem/conv", "{scope}/Conv2d_1a_3x3"), ("stem/conv/bn", "{scope}/Conv2d_1a_3x3/BatchNorm"),
             ("dw{k}/depthwise", "{scope}/Conv2d_{k}_depthwise"),
             ("dw{k}/depthwise/bn", "{scope}/Conv2d_{k}_depthwise/BatchNorm"),
             ("dw{k}/pointwise", "{scope}/Conv2d_{k}_pointwise"),
             ("dw{k}/pointwise/bn", "{scope}/Conv2d_{k}_pointwise/BatchNorm"),
             (_MIX, "{scope}/Mixed/Branch_{k-1}/Conv2d_0a"), (f"{_MIX}/bn", "{scope}/Mixed/Branch_{k-1}/Conv2d_0a/BatchNorm"),
             ("mix/up", "{scope}/Mixed/Conv2d_1x1"), ("aux/conv", "{scope}/AuxLogits/Conv2d_1b_1x1"),
             ("aux/conv/bn", "{scope}/AuxLogits/Conv2d_1b_1x1/BatchNorm"), ("aux/logits", "{scope}/AuxLogits/Logits"),
             ("logits", "{scope}/Logits/Conv2d_1c_1x1")),
    "keras": (("stem/conv", "conv1"), ("stem/conv/bn", "conv1_bn"), ("dw{k}/depthwise", "conv_dw_{k}"),
              ("dw{k}/depthwise/bn", "conv_dw_{k}_bn"), ("dw{k}/pointwise", "conv_pw_{k}"),
              ("dw{k}/pointwise/bn", "conv_pw_{k}_bn"), (_MIX, "mixed_branch{k}"), (f"{_MIX}/bn", "mixed_branch{k}_bn"),
              ("mix/up", "mixed_up"), ("aux/conv", "aux_conv"), ("aux/conv/bn", "aux_conv_bn"),
              ("aux/logits", "aux_logits"), ("logits", "predictions")),
    "torchvision": (("stem/conv", "stem.conv"), ("stem/conv/bn", "stem.bn"), ("dw{k}/depthwise", "dw{k}.depthwise"),
                    ("dw{k}/depthwise/bn", "dw{k}.bn1"), ("dw{k}/pointwise", "dw{k}.pointwise"),
                    ("dw{k}/pointwise/bn", "dw{k}.bn2"), (_MIX, "mix.branch{k}.conv"), (f"{_MIX}/bn", "mix.branch{k}.bn"),
                    ("mix/up", "mix.up"), ("aux/conv", "aux.conv"), ("aux/conv/bn", "aux.bn"),
                    ("aux/logits", "aux.fc"), ("logits", "fc")),
}
ENDPOINTS = {"slim": tuple((e, "{scope}/" + e) for e in
                           ("stem", "block1", "block2", "mix", "aux_logits", "pooled", "logits"))}
FAMILY = Family(name="toy_ops", description=Toy, parse=lambda text: None, names=(), layers=LAYERS,
                endpoints=ENDPOINTS)


def _random_tensors(description, seed=0):
    """Canonical tensors: kernels scaled by fan-in, BatchNorm statistics far from (0, 1), gammas spread over
    0.5..4 so relu6 clips."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in description.tensors().items():
        param = name.rpartition("/")[2]
        if param in ("kernel", "depthwise_kernel"):
            fan_in = np.prod(shape[:-1]) if param == "kernel" else np.prod(shape[:2])
            value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        elif param == "gamma":
            value = rng.uniform(0.5, 4.0, shape)
        elif param == "moving_variance":
            value = rng.uniform(0.2, 3.0, shape)
        else:   # beta, moving_mean, biases
            value = rng.uniform(-1.0, 1.0, shape)
        out[name] = value.astype(np.float32)
    return out


def _keras(description, tensors, images):
    import keras
    from slimcompat.nets import keras_net
    model = keras_net.build(description, input_shape=images.shape[1:])
    keras_net.set_canonical_weights(model, description, "keras", tensors)
    assert all(np.array_equal(v, tensors[n]) for n, v in keras_net.canonical_weights(model, description).items())
    points = keras_net.endpoint_layers(model)
    sub = keras.Model(model.input, [model.get_layer(points[e]).output for e in description.endpoint_names()])
    return dict(zip(description.endpoint_names(), (np.asarray(v) for v in sub(images, training=False))))


def _slim_graph(description, tensors, images):
    import tensorflow as tf
    import tf_slim as slim
    from slimcompat.arch import endpoint_scheme, scheme
    from slimcompat.nets import slim_net
    v1 = tf.compat.v1
    names, points = scheme("slim", description), endpoint_scheme("slim", description)
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, images.shape)
        with slim.arg_scope(slim_net.arg_scope_for(description)):
            _, end_points = slim_net.net_fn(description)(x, is_training=False)
        variables = {v.op.name: v for v in v1.global_variables()}
        assert sorted(variables) == sorted(names.tensor(n) for n in tensors)
        assigns = [variables[names.tensor(n)].assign(t.reshape(variables[names.tensor(n)].shape.as_list()))
                   for n, t in tensors.items()]
        fetches = {e: end_points[points.layer(e)] for e in description.endpoint_names()}
        with v1.Session(graph=graph) as session:
            session.run(assigns)
            return session.run(fetches, {x: images})


def _eager(description, tensors, images):
    """The eager layer's endpoints, after checking the TF1 graph of the same layer gives them bit for bit."""
    from slimcompat import eager
    from slimcompat.arch.conventions import INPUTS
    from slimcompat.arch import endpoint_scheme
    from slimcompat.weights.canonical import Weights
    from slimcompat.weights.metadata import Metadata
    layer = eager.net_layer(description)
    eager.load_weights(layer, Weights(tensors, Metadata(description, INPUTS["inception"])))
    assert all(np.array_equal(v, tensors[n]) for n, v in eager.to_weights(layer).tensors.items())
    _, points = layer.infer(images)
    graph = eager.GraphNet(layer, images.shape)   # the same function in a TF1 graph, restored from the layer
    in_graph = graph.run(graph.end_points, images)
    graph.close()
    assert set(in_graph) == set(points) and all(np.array_equal(in_graph[k], v) for k, v in points.items())
    names = endpoint_scheme("slim", description)
    return {e: points[names.layer(e)] for e in description.endpoint_names()}


def _torch(description, tensors, images):
    import torch
    from slimcompat.nets import torch_net
    net = torch_net.load_tensors(torch_net.build(description), tensors)
    assert all(np.array_equal(v, tensors[n]) for n, v in torch_net.canonical_weights(net).items())
    with torch.no_grad():
        _, points = net.endpoints(torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))))
    return {e: (v.permute(0, 2, 3, 1) if v.ndim == 4 else v).numpy() for e, v in points.items()}


def _flat(value):
    return np.asarray(value).reshape(len(value), -1)


@pytest.fixture(scope="module", params=SIZES, ids=[f"{s}x{s}" for s in SIZES])
def outputs(request):
    description = Toy(image_size=request.param)
    tensors = _random_tensors(description)
    images = np.random.default_rng(1).uniform(-1, 1, (2, request.param, request.param, 3)).astype(np.float32)
    return description, {"keras": _keras(description, tensors, images),
                         "slim-graph": _slim_graph(description, tensors, images),
                         "eager": _eager(description, tensors, images),
                         "torch": _torch(description, tensors, images)}


def test_the_toy_plan_uses_every_new_op():
    plan = Toy().plan()
    leaves = list(ops.walk(plan))
    depthwise = {op.multiplier for op in leaves if isinstance(op, ops.DepthwiseConv)}
    pools = {op.padding for op in leaves if isinstance(op, ops.AvgPool)}
    assert depthwise == {1, 2} and pools == {"same", "valid"}
    assert any(isinstance(op, ops.BatchNorm) and not op.scale for op in leaves)
    assert ops.Act("relu6") in leaves and any(isinstance(op, ops.Conv) and op.padding == "valid" for op in leaves)
    residual = next(op for op in plan if isinstance(op, ops.Residual))
    assert residual.scale == 0.2 and isinstance(residual.main[0], ops.Concat)
    assert any(isinstance(op, ops.Aux) for op in plan) and ops.Flatten() in leaves
    assert "dw1/depthwise/bn/gamma" not in Toy().tensors() and "stem/conv/bn/gamma" in Toy().tensors()


@pytest.mark.parametrize("other", ["slim-graph", "eager", "torch"])
def test_every_builder_agrees_with_keras_at_every_endpoint(outputs, other):
    description, results = outputs
    reference, theirs = results["keras"], results[other]
    assert list(theirs) == description.endpoint_names() or set(theirs) == set(description.endpoint_names())
    for endpoint in description.endpoint_names():
        a, b = _flat(reference[endpoint]), _flat(theirs[endpoint])
        assert a.shape == b.shape, (endpoint, a.shape, b.shape)
        scale = max(np.abs(a).max(), 1e-6)
        assert np.abs(a - b).max() <= TOLERANCE * scale, (other, endpoint, np.abs(a - b).max() / scale)


def test_relu6_clips_and_the_aux_head_is_an_endpoint(outputs):
    """The comparison would prove little if relu6 never clipped: the stem's output reaches 6."""
    description, results = outputs
    assert np.abs(results["keras"]["stem"].max() - 6.0) < 1e-6
    assert results["keras"]["aux_logits"].shape == (2, 5)


# ----------------------------------------------------------------- the layout rule

def test_a_depthwise_kernel_is_a_grouped_torch_conv_both_ways():
    import tensorflow as tf
    import torch
    rng = np.random.default_rng(2)
    kernel = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
    held = layout.to_framework(kernel, "depthwiseconv", "torch")
    assert held.shape == (8, 1, 3, 3)
    assert np.array_equal(layout.from_framework(held, "depthwiseconv", "torch", kernel.shape), kernel)
    x = rng.standard_normal((1, 6, 6, 4)).astype(np.float32)
    want = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID").numpy()
    got = torch.nn.functional.conv2d(torch.from_numpy(x.transpose(0, 3, 1, 2)), torch.from_numpy(held), groups=4)
    np.testing.assert_allclose(got.permute(0, 2, 3, 1).numpy(), want, rtol=1e-5, atol=1e-5)


def test_a_conv_held_as_a_dense_layer_round_trips_and_computes_the_same():
    """VGG's fc6: a canonical 7x7 VALID conv, Keras' Dense [HWC, out], torchvision's Linear [out, CHW]."""
    import torch
    rng = np.random.default_rng(3)
    kernel = rng.standard_normal((7, 7, 5, 6)).astype(np.float32)
    x = rng.standard_normal((2, 7, 7, 5)).astype(np.float32)
    want = np.einsum("nhwc,hwco->no", x, kernel)
    dense = layout.to_framework(kernel, "conv", "tensorflow", (245, 6))
    linear = layout.to_framework(kernel, "conv", "torch", (6, 245))
    np.testing.assert_allclose(x.reshape(2, -1) @ dense, want, rtol=1e-5, atol=1e-4)
    nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).flatten(1)
    np.testing.assert_allclose(torch.nn.functional.linear(nchw, torch.from_numpy(linear)).numpy(), want,
                               rtol=1e-5, atol=1e-4)
    for framework, held in (("tensorflow", dense), ("torch", linear)):
        assert layout.held_shape("conv", framework, held.shape, kernel.shape) == kernel.shape
        assert np.array_equal(layout.from_framework(held, "conv", framework, kernel.shape), kernel)


def test_a_dense_layer_held_as_a_1x1_conv_round_trips():
    """Keras MobileNet's conv_preds and slim's Conv2d_1c_1x1 hold a canonical dense [C, K] as a 1x1 conv."""
    rng = np.random.default_rng(4)
    kernel = rng.standard_normal((16, 10)).astype(np.float32)
    conv_tf = layout.to_framework(kernel, "dense", "tensorflow", (1, 1, 16, 10))
    conv_torch = layout.to_framework(kernel, "dense", "torch", (10, 16, 1, 1))
    assert np.array_equal(conv_tf[0, 0], kernel) and np.array_equal(conv_torch[:, :, 0, 0], kernel.T)
    for framework, held in (("tensorflow", conv_tf), ("torch", conv_torch)):
        assert np.array_equal(layout.from_framework(held, "dense", framework, kernel.shape), kernel)


def test_the_rule_refuses_another_shape_of_the_same_rank():
    from slimcompat.errors import SlimcompatError
    kernel = np.zeros((3, 3, 4, 8), np.float32)
    assert layout.held_shape("conv", "torch", (8, 4, 3, 3), kernel.shape) == kernel.shape
    assert layout.held_shape("conv", "torch", (4, 8, 3, 3), kernel.shape) != kernel.shape
    with pytest.raises(SlimcompatError):
        layout.from_framework(np.zeros((4, 8, 3, 3), np.float32), "conv", "torch", kernel.shape)


def test_torch_state_dict_of_the_toy_round_trips_bit_exactly():
    description = Toy()
    tensors = _random_tensors(description, seed=5)
    state = layout.state_dict(tensors, description)
    assert state["dw2.depthwise.weight"].shape == (32, 1, 3, 3) and "dw1.bn1.weight" not in state
    back, _ = layout.canonical_tensors(state, description, "toy state_dict")
    assert all(np.array_equal(back[n], tensors[n]) for n in tensors)


def test_costs_follow_the_output_sizes_keras_computes():
    """structure.cost's output size of every conv (valid, depthwise, after average pools) against the Keras
    model's own layer shapes; multiply-adds of a depthwise conv are k*k*C*M per pixel."""
    from slimcompat.arch import scheme
    from slimcompat.nets import keras_net
    from slimcompat.structure import cost
    description = Toy(image_size=33)
    model = keras_net.build(description, input_shape=(33, 33, 3))
    names = scheme("keras", description)
    costs = cost.layer_costs(description, (33, 33))
    convs = [op for op in ops.walk(description.plan()) if isinstance(op, (ops.Conv, ops.DepthwiseConv))]
    for op in convs:
        assert costs[op.layer][2] == tuple(model.get_layer(names.layer(op.layer)).output.shape[1:3]), op.layer
    assert costs["dw2/depthwise"][1] == 3 * 3 * 16 * 2


def test_a_residual_scale_is_a_difference_of_the_plans():
    from slimcompat.structure import diff
    plan = Toy().plan()
    unscaled = tuple(dataclasses.replace(op, scale=1.0) if isinstance(op, ops.Residual) else op for op in plan)
    assert diff.first_endpoint(plan, unscaled) == "mix" and diff.first_endpoint(plan, plan) is None
