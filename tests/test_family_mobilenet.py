"""MobileNet v1 and v2 against their references.

keras.applications' MobileNet and MobileNetV2 built with weights=None (Keras 3 for shapes, strides, residual
adds and counts; tf_keras for the variable names Keras 2 files carry); research/slim's own figures for the
checkpoints (mobilenet_v1.py's per-layer table, the MobileNet v2 README's parameter counts and MACs); torchvision's
published parameter count. research/slim's MobileNets are not in tf_slim, so their names are checked against
the scopes its source writes.
"""

import functools
import math

import pytest

from slimcompat.arch import describe, endpoint_scheme, from_dict, ops, scheme
from slimcompat.arch.families import mobilenet_v1, mobilenet_v2
from slimcompat.arch.registry import default_source, known_names
from slimcompat.arch.schemes import round_trip_failures
from slimcompat.errors import SlimcompatError

V1, V2 = mobilenet_v1.FAMILY, mobilenet_v2.FAMILY
SIZE = (32, 32, 3)      # the smallest input keras.applications allows


@functools.lru_cache(maxsize=None)
def _keras(version, alpha):
    import keras
    build = keras.applications.MobileNet if version == 1 else keras.applications.MobileNetV2
    return build(weights=None, input_shape=SIZE, alpha=alpha)


def _description(version, alpha):
    return describe(f"mobilenet_v{version}_{alpha!r}_224", source="keras")


def _keras3_tensors(model):
    """{layer/variable: shape} of a Keras 3 model in Keras 2's names (Keras 3 calls a depthwise kernel `kernel`),
    a 1x1 conv classifier [1, 1, features, classes] read as the Dense it is (the layout rule)."""
    import keras
    out = {}
    for layer in model.layers:
        for w in layer.weights:
            param = "depthwise_kernel" if isinstance(layer, keras.layers.DepthwiseConv2D) and w.name == "kernel" \
                else w.name
            shape = tuple(w.shape)
            out[f"{layer.name}/{param}"] = shape[2:] if layer.name == "conv_preds" and param == "kernel" else shape
    return out


def _named(scheme_name, description):
    bound = scheme(scheme_name, description)
    return {bound.tensor(name): shape for name, shape in description.tensors().items()}


CASES = [(1, a) for a in mobilenet_v1.WIDTHS] + [(2, a) for a in mobilenet_v2.WIDTHS]


@pytest.mark.parametrize("version,alpha", CASES, ids=[f"v{v}-{a}" for v, a in CASES])
def test_tensors_and_counts_are_keras_applications(version, alpha):
    model, description = _keras(version, alpha), _description(version, alpha)
    assert _named("keras", description) == _keras3_tensors(model)
    assert description.parameter_count() == model.count_params()
    if alpha == 1.0:
        # keras.applications' table: MobileNet 4,253,864, MobileNetV2 3,538,984 parameters
        assert description.parameter_count() == {1: 4_253_864, 2: 3_538_984}[version]


@pytest.mark.parametrize("version,alpha", [(1, 1.0), (1, 0.25), (2, 1.4), (2, 0.35)])
def test_strides_and_residual_adds_are_keras_applications(version, alpha):
    import keras
    model, description = _keras(version, alpha), _description(version, alpha)
    bound = scheme("keras", description)
    for op in description.layers():
        if isinstance(op, (ops.Conv, ops.DepthwiseConv)):
            layer = model.get_layer(bound.layer(op.layer))
            assert tuple(layer.strides) == (op.stride, op.stride) and layer.kernel_size == (op.kernel, op.kernel)
    adds = {layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)}
    units = [op.unit for op in description.plan() if isinstance(op, ops.Residual)]
    assert {endpoint_scheme("keras.applications", description).layer(u) for u in units} == adds
    assert len(units) == (10 if version == 2 else 0)


def test_keras_names_are_those_of_keras_2_files():
    """tf_keras names a depthwise kernel `depthwise_kernel`, as the .h5 files keras.applications ships do."""
    import tf_keras
    for version, build in ((1, tf_keras.applications.MobileNet), (2, tf_keras.applications.MobileNetV2)):
        alpha = 1.0 if version == 1 else 1.4
        model = build(weights=None, input_shape=SIZE, alpha=alpha)
        names = {w.name.removesuffix(":0") for w in model.weights}
        assert set(_named("keras", _description(version, alpha))) == names


@pytest.mark.parametrize("version,alpha", [(1, 1.0), (2, 1.0)])
def test_keras_endpoints_are_layers_of_the_keras_model(version, alpha):
    model, description = _keras(version, alpha), _description(version, alpha)
    bound = endpoint_scheme("keras.applications", description)
    layers = {layer.name for layer in model.layers}
    found = [bound.layer(e) for e in description.endpoint_names() if e != "pooled"]
    assert set(found) <= layers and len(set(found)) == len(found)


# research/slim/nets/mobilenet_v1.py's docstring: 100% MobileNet v1 (base) at 224x224, (params, MACs) per layer
# of the kernels, in order; and its total for 75% at 128x128.
_V1_TABLE = [("Conv2d_0", 864, 10_838_016)] + [
    row for u, (dw, dw_macs, pw, pw_macs) in enumerate([
        (288, 3_612_672, 2_048, 25_690_112), (576, 1_806_336, 8_192, 25_690_112),
        (1_152, 3_612_672, 16_384, 51_380_224), (1_152, 903_168, 32_768, 25_690_112),
        (2_304, 1_806_336, 65_536, 51_380_224), (2_304, 451_584, 131_072, 25_690_112),
        *[(4_608, 903_168, 262_144, 51_380_224)] * 5,
        (4_608, 225_792, 524_288, 25_690_112), (9_216, 451_584, 1_048_576, 51_380_224)], start=1)
    for row in ((f"Conv2d_{u}_depthwise", dw, dw_macs), (f"Conv2d_{u}_pointwise", pw, pw_macs))]


def _kernels_and_macs(description, size):
    """[(slim layer, kernel parameters, MACs)] of every conv at input `size`, maps shrinking as SAME pads them."""
    bound, out = scheme("slim", description), []
    for op in ops.walk(description.plan()):
        if isinstance(op, (ops.Conv, ops.DepthwiseConv)):
            size = -(-size // op.stride)
            out.append((bound.layer(op.layer), math.prod(op.shape), op.macs(size * size)))
    return out


def test_v1_layers_are_research_slims_table():
    rows = _kernels_and_macs(describe("mobilenet_v1_1.0_224"), 224)
    assert rows == [(f"MobilenetV1/{name}", params, macs) for name, params, macs in _V1_TABLE]
    assert sum(r[1] for r in rows) == 3_185_088 and sum(r[2] for r in rows) == 567_716_352
    small = _kernels_and_macs(describe("mobilenet_v1_075_128"), 128)
    assert (sum(r[1] for r in small), sum(r[2] for r in small)) == (1_800_144, 106_002_432)


def test_v1_slim_names_and_endpoints_are_research_slims():
    d = describe("mobilenet_v1_0.5_160")
    bound = scheme("slim", d)
    assert bound.tensor("block3/depthwise/depthwise_kernel") == "MobilenetV1/Conv2d_3_depthwise/depthwise_weights"
    assert bound.tensor("block13/pointwise/bn/moving_variance") == \
        "MobilenetV1/Conv2d_13_pointwise/BatchNorm/moving_variance"
    assert bound.tensor("logits/bias") == "MobilenetV1/Logits/Conv2d_1c_1x1/biases"
    assert d.tensors()["logits/kernel"] == (512, 1001) and d.tensors()["stem/conv/kernel"] == (3, 3, 3, 16)
    # mobilenet_v1's end_points keys (less Predictions, the softmax)
    keys = {"Conv2d_0", "AvgPool_1a", "Logits"} | {f"Conv2d_{i}_{k}" for i in range(1, 14)
                                                   for k in ("depthwise", "pointwise")}
    ends = endpoint_scheme("slim", d)
    assert {ends.layer(e) for e in d.endpoint_names()} == keys


# research/slim/nets/mobilenet/README.md: (MACs in millions, parameters in millions) of every published
# checkpoint. Its parameters leave out BatchNorm (beta, gamma and the moving statistics).
_V2_TABLE = {"1.4_224": (582, 6.06), "1.3_224": (509, 5.34), "1.0_224": (300, 3.47), "1.0_192": (221, 3.47),
             "1.0_160": (154, 3.47), "1.0_128": (99, 3.47), "1.0_96": (56, 3.47), "0.75_224": (209, 2.61),
             "0.75_192": (153, 2.61), "0.75_160": (107, 2.61), "0.75_128": (69, 2.61), "0.75_96": (39, 2.61),
             "0.5_224": (97, 1.95), "0.5_192": (71, 1.95), "0.5_160": (50, 1.95), "0.5_128": (32, 1.95),
             "0.5_96": (18, 1.95), "0.35_224": (59, 1.66), "0.35_192": (43, 1.66), "0.35_160": (30, 1.66),
             "0.35_128": (20, 1.66), "0.35_96": (11, 1.66)}


@pytest.mark.parametrize("zoo", list(_V2_TABLE))
def test_v2_counts_are_the_zoos(zoo):
    d = describe(f"mobilenet_v2_{zoo}")
    macs, params = _V2_TABLE[zoo]
    without_bn = sum(math.prod(s) for n, s in d.tensors().items() if "/bn/" not in n)
    assert round(without_bn / 1e6, 2) == params
    ours = sum(r[2] for r in _kernels_and_macs(d, d.resolution)) + d.features * d.num_classes
    assert abs(ours / 1e6 - macs) <= 1     # the README rounds loosely below width 1 (150.6 is 150 there)


def test_v2_slim_names_are_research_slims_scopes():
    """mobilenet_v2.V2_DEF: Conv, 17 expanded_conv (the first without expansion), Conv_1, then Logits."""
    d = describe("mobilenet_v2_1.4_224")
    layers = {name.rsplit("/", 1)[0].removesuffix("/BatchNorm") for name in _named("slim", d)}
    expected = {"MobilenetV2/Conv", "MobilenetV2/Conv_1", "MobilenetV2/Logits/Conv2d_1c_1x1",
                "MobilenetV2/expanded_conv/depthwise", "MobilenetV2/expanded_conv/project"} | {
        f"MobilenetV2/expanded_conv_{i}/{part}" for i in range(1, 17) for part in ("expand", "depthwise", "project")}
    assert layers == expected
    named = _named("slim", d)
    assert named["MobilenetV2/expanded_conv/depthwise/depthwise_weights"] == (3, 3, 48, 1)
    assert named["MobilenetV2/Conv_1/weights"] == (1, 1, 448, 1792)
    ends = endpoint_scheme("slim", d)
    assert [ends.layer(e) for e in d.endpoint_names()] == \
        [f"layer_{i}" for i in range(1, 20)] + ["global_pool", "Logits"]


def test_v2_torchvision_names_and_count():
    d = describe("mobilenet_v2")
    # torchvision's MobileNet_V2_Weights.IMAGENET1K_V1: num_params 3,504,872
    assert d.parameter_count(trainable_only=True) == 3_504_872
    tv = scheme("torchvision", d)
    assert tv.tensor("stem/conv/kernel") == "features.0.0.weight"
    assert tv.tensor("block1/depthwise/bn/gamma") == "features.1.conv.0.1.weight"
    assert tv.tensor("block1/project/kernel") == "features.1.conv.1.weight"
    assert tv.tensor("block1/project/bn/moving_variance") == "features.1.conv.2.running_var"
    assert tv.tensor("block5/expand/kernel") == "features.5.conv.0.0.weight"
    assert tv.tensor("block5/depthwise/depthwise_kernel") == "features.5.conv.1.0.weight"
    assert tv.tensor("block17/project/bn/beta") == "features.17.conv.3.bias"
    assert tv.tensor("final/conv/bn/moving_mean") == "features.18.1.running_mean"
    assert tv.tensor("logits/kernel") == "classifier.1.weight"
    assert tv.canonical_tensor("features.1.conv.2.weight") == "block1/project/bn/gamma"


def test_torchvision_computes_something_else_and_says_so():
    """Symmetric padding and epsilon 1e-5: knobs of effect output, so converting across them is refused by name."""
    slim, torch, keras = describe("mobilenet_v2_1.0_224"), describe("mobilenet_v2"), describe("MobileNetV2")
    output = {k for k, _, effect, *_ in slim.differences(torch) if effect == "output"}
    assert {"padding", "bn_epsilon"} <= output
    assert (torch.padding, torch.bn_epsilon) == ("explicit", 1e-5)
    assert {k for k, *_ in slim.differences(keras)} == {"num_classes", "background_class"}
    assert {k for k, *_ in describe("mobilenet_v1_1.0_224").differences(describe("MobileNet"))} == \
        {"num_classes", "background_class"}


def _every_description():
    names = V1.names + V2.names
    return [describe(n) for n in names] + [describe("mobilenet_v1_0.25_128", num_classes=None, background_class=False),
                                           describe("MobileNetV2", width=0.35, num_classes=None)]


@pytest.mark.parametrize("scheme_name", ["slim", "keras", "torchvision"])
def test_every_tensor_round_trips_through_every_scheme(scheme_name):
    for description in _every_description():
        assert round_trip_failures(scheme_name, description) == [], description.name
        names = list(_named(scheme_name, description))
        assert len(set(names)) == len(names)


def test_every_name_means_one_network_and_its_name_reads_back():
    seen = {}
    for name in V1.names + V2.names:
        d = describe(name)
        assert describe(d.name, source=default_source(name)) == d, name
        assert from_dict(d.to_dict()) == d
        seen.setdefault(d.name, set()).add((d.family, d.width, d.resolution))
    assert all(len(v) == 1 for v in seen.values())
    assert set(V1.names + V2.names) <= set(known_names())
    assert describe("mobilenet_v1_050_160").name == "mobilenet_v1_0.5_160"
    assert describe("MobileNet_v1_0.50_224") == describe("mobilenet_v1_0.5_224")
    assert (describe("MobileNet").width, describe("mobilenet_0.25_128").resolution) == (1.0, 128)
    assert describe("mobilenet_v2_140").name == "mobilenet_v2_1.4_224"
    assert describe("mobilenetv2_1.40_224") == describe("MobileNetV2", width=1.4)
    assert default_source("mobilenet_v2") == "torchvision" and default_source("MobilenetV2") == "slim"


@pytest.mark.parametrize("name,message", [("mobilenet_v1_0.0_224", "width must be a number in"),
                                          ("mobilenet_v2_1.0_16", "resolution must be an integer in 32..2048"),
                                          ("mobilenet_v3", "unknown architecture")])
def test_bad_names_are_one_line_errors(name, message):
    with pytest.raises(SlimcompatError, match=message):
        describe(name)


def test_candidates_cover_every_width_and_the_classes_asked():
    for family, module in ((V1, mobilenet_v1), (V2, mobilenet_v2)):
        found = list(family.recognize(1000))
        assert sorted(d.width for d in found) == sorted(module.WIDTHS)
        assert all(d.num_classes == 1000 for d in found)
        assert len({tuple(d.tensors().items()) for d in found}) == len(found)
        assert all(not d.classifier for d in family.recognize(None))


def test_widths_below_one_keep_1280_features_and_above_scale_them():
    assert [describe(f"mobilenet_v2_{w}_224").features for w in ("0.35", "1.0", "1.3", "1.4")] == \
        [1280, 1280, 1664, 1792]
    assert mobilenet_v2.make_divisible(24 * 0.35) == 8 and mobilenet_v2.make_divisible(32 * 1.4) == 48
