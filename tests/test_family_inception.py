"""Inception v1, v2, v3 descriptions against the real nets: tf_slim.nets' graphs and keras.applications.

Variable names and shapes are compared exactly with what tf_slim.nets.inception_v1/v2 build at 224 and
inception_v3 at 299 (graph only), and keras.applications.InceptionV3(weights=None)'s weights with our
keras scheme; parameter counts with the published ones.
"""

import math

import pytest

from slimcompat.arch import describe, endpoint_scheme, scheme
from slimcompat.arch import ops
from slimcompat.arch.registry import RECORDS
from slimcompat.arch.schemes import round_trip_failures

NETS = {"inception_v1": 224, "inception_v2": 224, "inception_v3": 299}
INCEPTION = [r for r in RECORDS if r.name in NETS]


def _slim_shapes(description):
    """Our slim names and shapes; slim holds each classifier as a 1x1 conv: [1, 1, features, classes]."""
    bound = scheme("slim", description)
    dense = {f"{op.layer}/kernel" for op in description.layers() if isinstance(op, ops.Dense)}
    return {bound.tensor(n): ((1, 1, *shape) if n in dense else shape) for n, shape in description.tensors().items()}


@pytest.fixture(scope="module", params=sorted(NETS))
def slim_graph(request):
    """(name, {variable: shape}, end_points keys) of tf_slim's own net, with its arg scope (BatchNorm)."""
    import tensorflow as tf
    import tf_slim
    from tf_slim.nets import inception_v1, inception_v2, inception_v3
    name, size = request.param, NETS[request.param]
    module = {"inception_v1": inception_v1, "inception_v2": inception_v2, "inception_v3": inception_v3}[name]
    with tf.Graph().as_default():
        images = tf.compat.v1.placeholder(tf.float32, (1, size, size, 3))
        with tf_slim.arg_scope(getattr(module, f"{name}_arg_scope")()):
            _, end_points = getattr(module, name)(images, num_classes=1001, is_training=False)
        variables = {v.op.name: tuple(v.shape.as_list()) for v in tf.compat.v1.global_variables()}
    return name, variables, set(end_points)


def test_slim_variables_are_tf_slims_exactly(slim_graph):
    name, variables, _ = slim_graph
    description = describe(name)
    assert _slim_shapes(description) == variables
    assert description.parameter_count() == sum(math.prod(s) for s in variables.values())


def test_slim_endpoints_are_tf_slims_end_points(slim_graph):
    name, _, keys = slim_graph
    description = describe(name)
    ours = {endpoint_scheme("slim", description).layer(e) for e in description.endpoint_names()}
    # tf_slim's v1 and v2 have no PreLogits end point (research/slim's v3 and slimcompat's slim nets do)
    assert ours - keys == (set() if name == "inception_v3" else {"PreLogits"})
    assert {"Mixed_5c", "Logits"} <= ours


@pytest.fixture(scope="module")
def keras_inception_v3():
    import keras
    keras.backend.clear_session()     # keras.applications' layer names are numbered per session
    return keras.applications.InceptionV3(weights=None)


def test_keras_inception_v3_weights_are_our_keras_scheme(keras_inception_v3):
    description = describe("InceptionV3")
    assert description == describe("keras:inception_v3") and not description.aux_logits
    bound = scheme("keras", description)
    ours = {bound.tensor(n): shape for n, shape in description.tensors().items()}
    theirs = {w.path: tuple(w.shape) for layer in keras_inception_v3.layers for w in layer.weights}
    assert ours == theirs
    # keras.applications documentation's table: InceptionV3, 23,851,784 parameters
    assert keras_inception_v3.count_params() == description.parameter_count() == 23_851_784


def test_keras_inception_v3_endpoints_are_its_layers(keras_inception_v3):
    description = describe("InceptionV3")
    names = {layer.name for layer in keras_inception_v3.layers}
    bound = endpoint_scheme("keras.applications", description)
    ours = {bound.layer(e) for e in description.endpoint_names()}
    assert ours <= names and {"mixed0", "mixed10", "avg_pool", "predictions", "activation", "max_pooling2d_1"} <= ours


def test_torchvision_inception_v3_names_count_and_habits():
    description = describe("torchvision:inception_v3")
    tensors = {scheme("torchvision", description).tensor(n) for n in description.tensors()}
    # torchvision/models/inception.py: Inception3's modules and BasicConv2d's conv + bn (affine, eps 0.001)
    assert {"Conv2d_1a_3x3.conv.weight", "Conv2d_1a_3x3.bn.weight", "Mixed_5b.branch5x5_2.conv.weight",
            "Mixed_6a.branch3x3dbl_3.bn.running_var", "Mixed_7c.branch3x3dbl_3b.conv.weight",
            "AuxLogits.conv0.conv.weight", "AuxLogits.conv1.bn.bias", "AuxLogits.fc.weight", "fc.bias"} <= tensors
    # torchvision's documentation: Inception_V3_Weights.IMAGENET1K_V1, 27,161,264 parameters (buffers aside)
    assert description.parameter_count(trainable_only=True) == 27_161_264
    changed = {knob: effect for knob, _, effect, _, _ in describe("inception_v3").differences(description)}
    assert changed["count_include_pad"] == changed["transform_input"] == "output"
    assert changed["bn_scale"] == "shape" and changed["num_classes"] == "shape"
    pools = [op for op in ops.walk(description.plan()) if isinstance(op, ops.AvgPool)]
    assert {op.padding for op in pools if op.size == 3} == {"pad1"}
    assert {op.padding for op in ops.walk(describe("inception_v3").plan())
            if isinstance(op, ops.AvgPool) and op.size == 3} == {"same"}


def test_inception_v2_first_conv_is_separable_with_slims_names():
    description = describe("inception_v2")
    bound = scheme("slim", description)
    depthwise, pointwise = description.layers()[:2]
    assert isinstance(depthwise, ops.DepthwiseConv) and depthwise.shape == (7, 7, 3, 8)
    assert bound.tensor("stem/conv1/depthwise/depthwise_kernel") == "InceptionV2/Conv2d_1a_7x7/depthwise_weights"
    assert bound.tensor("stem/conv1/kernel") == "InceptionV2/Conv2d_1a_7x7/pointwise_weights"
    assert bound.canonical_tensor("InceptionV2/Conv2d_1a_7x7/pointwise_weights") == "stem/conv1/kernel"
    assert pointwise.shape == (1, 1, 24, 64)


@pytest.mark.parametrize("name", ["inception_v1", "inception_v2", "inception_v3", "InceptionV3",
                                  "torchvision:inception_v3", "keras:inception_v3"])
def test_every_scheme_round_trips(name):
    description = describe(name)
    for scheme_name in description.record.layers:
        assert round_trip_failures(scheme_name, description) == [], (name, scheme_name)
    for endpoints in description.record.endpoints:
        bound = endpoint_scheme(endpoints, description)
        names = [bound.layer(e) for e in description.endpoint_names()]
        assert len(set(names)) == len(names)
        assert [bound.canonical_layer(n) for n in names] == description.endpoint_names()


@pytest.mark.parametrize("record", INCEPTION, ids=lambda r: r.name)
def test_names_parse_back_and_candidates_are_the_family(record):
    for name in record.names:
        described = describe(name)
        assert type(described) is record.description and describe(described.name) == describe(record.name)
    assert describe(record.name).record is record
    for classes in (1001, None):
        found = list(record.recognize(classes))
        assert found and all(d.num_classes == classes for d in found)
    assert [d.name for d in (describe(n) for n in record.detect)] == [record.name]


def test_slim_defaults_are_slims_batchnorm_and_heads():
    for name in NETS:
        description = describe(name)
        norms = [op for op in description.layers() if isinstance(op, ops.BatchNorm)]
        assert norms and all(not n.scale and n.epsilon == 1e-3 for n in norms)
        biased = [op.layer for op in description.layers() if isinstance(op, ops.Conv) and op.bias]
        assert biased == (["stem/conv1"] if name == "inception_v2" else [])   # v2's separable conv: no BatchNorm
        assert description.num_classes == 1001 and description.background_class
    aux = [op for op in describe("inception_v3").plan() if isinstance(op, ops.Aux)]
    assert len(aux) == 1 and not any(isinstance(op, ops.Aux) for op in describe("InceptionV3").plan())
    shapes = {op.layer: op.shape for op in describe("inception_v3").layers() if isinstance(op, ops.Conv)}
    assert shapes["mixed_6b/branch1/conv2"] == (1, 7, 128, 128) and shapes["mixed_7b/branch1/conv3"] == (3, 1, 384, 384)
