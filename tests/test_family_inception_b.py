"""Inception v4 and Inception-ResNet-v2 (research/slim) as descriptions, against references.

tf_slim has neither net, so: Inception-ResNet-v2 against keras.applications'
InceptionResNetV2 built with weights=None (every weight name and shape
through our keras scheme, its parameter count, its endpoint layers); both
against research/slim's own tests' published endpoint shapes at 299 px
(nets/inception_v4_test.py testAllEndPointsShapes,
nets/inception_resnet_v2_test.py testBuildAndCheckAllEndPointsUptoPreAuxLogits
and testBuildEndPoints), computed here by walking the plan; Inception v4
against timm's parameter count of its port of slim's checkpoint.
"""

import math
import re

import pytest

from slimcompat.arch import describe, endpoint_scheme, from_dict, ops, scheme
from slimcompat.arch.families import inception_resnet_v2, inception_v4
from slimcompat.arch.schemes import round_trip_failures

# research/slim nets/inception_v4_test.py, testAllEndPointsShapes (299 x 299, batch dimension left out)
V4_ENDPOINTS = {"Conv2d_1a_3x3": (149, 149, 32), "Conv2d_2a_3x3": (147, 147, 32), "Conv2d_2b_3x3": (147, 147, 64),
                "Mixed_3a": (73, 73, 160), "Mixed_4a": (71, 71, 192), "Mixed_5a": (35, 35, 384),
                **{f"Mixed_5{u}": (35, 35, 384) for u in "bcde"}, "Mixed_6a": (17, 17, 1024),
                **{f"Mixed_6{u}": (17, 17, 1024) for u in "bcdefgh"}, "Mixed_7a": (8, 8, 1536),
                **{f"Mixed_7{u}": (8, 8, 1536) for u in "bcd"}, "AuxLogits": (1000,), "global_pool": (1, 1, 1536),
                "PreLogitsFlatten": (1536,), "Logits": (1000,), "Predictions": (1000,)}
# research/slim nets/inception_resnet_v2_test.py: testBuildAndCheckAllEndPointsUptoPreAuxLogits,
# testBuildEndPoints (Conv2d_7b_1x1, Logits, AuxLogits; 1000 classes), testBuildNoClasses (the pool);
# Mixed_7a from nets/inception_resnet_v2.py's shape comment ("8 x 8 x 2080", keras.applications' too)
IRV2_ENDPOINTS = {"Conv2d_1a_3x3": (149, 149, 32), "Conv2d_2a_3x3": (147, 147, 32), "Conv2d_2b_3x3": (147, 147, 64),
                  "MaxPool_3a_3x3": (73, 73, 64), "Conv2d_3b_1x1": (73, 73, 80), "Conv2d_4a_3x3": (71, 71, 192),
                  "MaxPool_5a_3x3": (35, 35, 192), "Mixed_5b": (35, 35, 320), "Mixed_6a": (17, 17, 1088),
                  "PreAuxLogits": (17, 17, 1088), "Mixed_7a": (8, 8, 2080), "Conv2d_7b_1x1": (8, 8, 1536),
                  "AuxLogits": (1000,), "global_pool": (1, 1, 1536), "Logits": (1000,)}


def _out(size, kernel, stride, padding):
    return (size - kernel) // stride + 1 if padding == "valid" else math.ceil(size / stride)


def _shapes(plan, shape):
    """{endpoint: shape} of `plan` on an input of `shape` (h, w, c), checking every op's input channels."""
    found = {}

    def run(seq, shape):
        for op in seq:
            h, w, c = shape if len(shape) == 3 else (None, None, shape[0])
            if isinstance(op, ops.Conv):
                assert op.in_channels == c, (op.layer, op.in_channels, c)
                (kh, kw), s = op.size, op.stride
                shape = (_out(h, kh, s, op.padding), _out(w, kw, s, op.padding), op.filters)
            elif isinstance(op, ops.BatchNorm):
                assert op.channels == c, (op.layer, op.channels, c)
            elif isinstance(op, (ops.MaxPool, ops.AvgPool)):
                shape = (_out(h, op.size, op.stride, op.padding), _out(w, op.size, op.stride, op.padding), c)
            elif isinstance(op, ops.GlobalAvgPool):
                shape = (1, 1, c)
            elif isinstance(op, ops.Flatten):
                shape = (h * w * c,)
            elif isinstance(op, ops.Dense):
                assert op.in_features == math.prod(shape), (op.layer, op.in_features, shape)
                shape = (op.units,)
            elif isinstance(op, ops.Concat):
                outs = [run(branch, shape) for branch in op.branches]
                assert len({o[:2] for o in outs}) == 1, (op.unit, outs)
                shape = (*outs[0][:2], sum(o[2] for o in outs))
            elif isinstance(op, ops.Residual):
                assert run(op.main, shape) == shape, op.unit
            elif isinstance(op, ops.Aux):
                run(op.ops, shape)
            elif isinstance(op, ops.Endpoint):
                found[op.name] = shape
        return shape

    run(plan, shape)
    return found


@pytest.mark.parametrize("name,published", [("inception_v4", V4_ENDPOINTS), ("inception_resnet_v2", IRV2_ENDPOINTS)])
def test_endpoint_shapes_at_299_are_research_slims(name, published):
    d = describe(name, num_classes=1000)
    shapes = _shapes(d.plan(), (299, 299, 3))
    slim = endpoint_scheme("slim", d)
    ours = {slim.layer(e): shape for e, shape in shapes.items()}
    assert set(ours) <= set(published)
    for key, shape in ours.items():
        expected = published[key]
        assert (shape if key != "global_pool" else (1, 1, shape[-1])) == expected, key
    # what we leave out: softmax (Predictions) and the flattened pool (PreLogitsFlatten, the same values)
    assert set(published) - set(ours) <= {"Predictions", "PreLogitsFlatten", "global_pool"}


@pytest.mark.parametrize("name", ["inception_v4", "inception_resnet_v2"])
def test_slim_building_blocks(name):
    """inception_arg_scope / inception_resnet_v2_arg_scope: BatchNorm without gamma, eps 0.001; no conv biases."""
    d = describe(name)
    layers = d.layers()
    bns = [op for op in layers if isinstance(op, ops.BatchNorm)]
    assert bns and all(not op.scale and op.epsilon == 1e-3 for op in bns)
    assert not any(t.endswith("/gamma") for t in d.tensors())
    biased = {op.layer for op in layers if isinstance(op, ops.Conv) and op.bias}
    assert all(layer.endswith("/up") for layer in biased) and (name == "inception_v4") == (not biased)
    assert {op.kind for op in ops.walk(d.plan()) if isinstance(op, ops.Act)} == {"relu"}
    slim = scheme("slim", d)
    for n, shape in d.tensors().items():
        kernel = re.search(r"_(\d)x(\d)/weights\Z", slim.tensor(n))
        if kernel and n.endswith("/kernel"):   # the scope says the kernel: Conv2d_0b_1x7 is 1 x 7
            assert shape[:2] == (int(kernel[1]), int(kernel[2])), slim.tensor(n)


def test_inception_resnet_v2_residual_units():
    """Scales 0.17 (10 x block35), 0.10 (20 x block17), 0.20 (9 x block8) then Block8: scale 1, no activation."""
    units = [op for op in describe("inception_resnet_v2").plan() if isinstance(op, ops.Residual)]
    assert [u.scale for u in units] == [0.17] * 10 + [0.10] * 20 + [0.20] * 9 + [1.0]
    assert all(u.post == (ops.Act("relu"),) for u in units[:-1]) and units[-1].post == ()
    assert all(isinstance(u.main[-1], ops.Conv) and u.main[-1].bias and u.main[-1].kernel == 1 for u in units)


def test_slim_names_are_research_slims():
    """Names as research/slim's scopes make them (slim.repeat: Repeat, Repeat_1, Repeat_2; the last block8: Block8)."""
    v4 = {scheme("slim", describe("inception_v4")).tensor(n): s for n, s in describe("inception_v4").tensors().items()}
    assert v4["InceptionV4/Mixed_6h/Branch_2/Conv2d_0e_1x7/weights"] == (1, 7, 224, 256)
    assert v4["InceptionV4/Mixed_7d/Branch_1/Conv2d_0c_3x1/BatchNorm/moving_variance"] == (256,)
    assert v4["InceptionV4/AuxLogits/Conv2d_2a/weights"] == (5, 5, 128, 768)
    assert v4["InceptionV4/AuxLogits/Aux_logits/weights"] == (768, 1001)
    assert v4["InceptionV4/Logits/Logits/biases"] == (1001,)
    d = describe("inception_resnet_v2")
    irv2 = {scheme("slim", d).tensor(n): s for n, s in d.tensors().items()}
    assert irv2["InceptionResnetV2/Repeat/block35_10/Conv2d_1x1/biases"] == (320,)
    assert irv2["InceptionResnetV2/Repeat_1/block17_20/Branch_1/Conv2d_0b_1x7/weights"] == (1, 7, 128, 160)
    assert irv2["InceptionResnetV2/Repeat_2/block8_9/Conv2d_1x1/weights"] == (1, 1, 448, 2080)
    assert irv2["InceptionResnetV2/Block8/Branch_1/Conv2d_0c_3x1/weights"] == (3, 1, 224, 256)
    assert irv2["InceptionResnetV2/AuxLogits/Conv2d_2a_5x5/weights"] == (5, 5, 128, 768)
    assert irv2["InceptionResnetV2/AuxLogits/Logits/weights"] == (768, 1001)
    assert irv2["InceptionResnetV2/Conv2d_7b_1x1/BatchNorm/beta"] == (1536,)
    assert not any("block8_10" in n for n in irv2)


def test_inception_v4_parameter_count_is_timms():
    # timm 1.0.31's inception_v4 (Cadene's port of slim's checkpoint), 1000 classes, no aux head: 42,679,816
    # parameters (sum of parameters() of timm.create_model("inception_v4"), measured; its model card: "Params (M):
    # 42.7"). timm's BatchNorm2d holds a gamma (ones in the port) and keeps its running statistics outside
    # parameters(): the timm preset's BatchNorms have the gamma, and the trainable count leaves the statistics out.
    d = describe("timm:inception_v4")
    assert d.num_classes == 1000 and not d.aux_logits and d.bn_scale
    assert d.parameter_count(trainable_only=True) == 42_679_816
    gammas = sum(op.channels for op in d.layers() if isinstance(op, ops.BatchNorm))
    assert describe("inception_v4", num_classes=1000, background_class=False, aux_logits=False) \
        .parameter_count(trainable_only=True) + gammas == 42_679_816


def _descriptions():
    return [describe(n) for n in ("inception_v4", "timm:inception_v4", "inception_resnet_v2", "InceptionResNetV2",
                                  "timm:inception_resnet_v2")] + \
        [describe("inception_v4", num_classes=None, background_class=False),
         describe("inception_resnet_v2", num_classes=10, conv_bias=True)]


@pytest.mark.parametrize("description", _descriptions(), ids=lambda d: f"{d.name}-{d.num_classes}-{d.aux_logits}")
@pytest.mark.parametrize("scheme_name", ["slim", "keras", "torchvision"])
def test_every_tensor_round_trips_through_every_scheme(description, scheme_name):
    assert round_trip_failures(scheme_name, description) == []
    bound = scheme(scheme_name, description)
    names = [bound.tensor(n) for n in description.tensors()]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("family", [inception_v4, inception_resnet_v2])
def test_names_parse_back_and_sources_differ_only_in_their_habits(family):
    for name in family.NAMES:
        d = describe(name)
        assert isinstance(d, family.FAMILY.description)
        assert describe(d.name, source=family.parse(name)[1]) == d and from_dict(d.to_dict()) == d
    slim = describe(family.NAMES[0])
    assert slim.num_classes == 1001 and slim.background_class and slim.aux_logits
    timm = describe(f"timm:{family.NAMES[0]}")
    assert {k for k, *_ in slim.differences(timm)} == {"num_classes", "background_class", "aux_logits", "bn_scale"}
    for num_classes in (None, 1001):
        found = list(family.candidates(num_classes))
        assert found and all(c.num_classes == num_classes for c in found)
        assert len({tuple(c.tensors()) for c in found}) == len(found)


def test_keras_inception_resnet_v2_is_slims_net_without_the_aux_head():
    keras = describe("InceptionResNetV2")
    assert {k for k, *_ in describe("inception_resnet_v2").differences(keras)} == {
        "num_classes", "background_class", "aux_logits", "softmax"}
    # keras.applications docs' table: InceptionResNetV2, 55,873,736 parameters
    assert keras.parameter_count() == 55_873_736


@pytest.fixture(scope="module")
def keras_model():
    import keras
    keras.backend.clear_session()   # Keras numbers unnamed layers per session: conv2d, conv2d_1, ...
    return keras.applications.InceptionResNetV2(weights=None, input_shape=(75, 75, 3))


@pytest.mark.slow
def test_keras_scheme_is_keras_applications(keras_model):
    d = describe("InceptionResNetV2")
    theirs = {f"{layer.name}/{w.name}": tuple(w.shape) for layer in keras_model.layers for w in layer.weights}
    keras = scheme("keras", d)
    assert {keras.tensor(n): shape for n, shape in d.tensors().items()} == theirs
    assert keras_model.count_params() == d.parameter_count() == 55_873_736
    endpoints = endpoint_scheme("keras.applications", d)
    shapes = _shapes(d.plan(), (299, 299, 3))
    for endpoint in d.endpoint_names():
        layer = keras_model.get_layer(endpoints.layer(endpoint))
        assert layer.output.shape[-1] == shapes[endpoint][-1], endpoint
