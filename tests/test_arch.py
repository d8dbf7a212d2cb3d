"""The description layer: families and variants as data, their parameter counts, names and schemes."""

import pytest

from slimcompat.arch import DEPTHS, Inception10, ResNet, UnknownNameError, describe, from_dict, parse_knobs, scheme
from slimcompat.arch.schemes import round_trip_failures
from slimcompat.errors import SlimcompatError
from slimcompat.testing.seeds import SEED_001_RESNET18, SEED_002_RESNEXT, SEED_003_RESNET18


@pytest.mark.parametrize("name,knobs,expected,trainable", [
    # torchvision's models, parameters() (trainable: no BatchNorm statistics)
    ("resnet18", {}, 11_689_512, True),
    ("resnet34", {}, 21_797_672, True),
    ("resnext50_32x4d", {}, 25_028_904, True),
    ("resnext101_32x8d", {}, 88_791_336, True),
    # keras.applications.ResNet50().count_params()
    ("ResNet50", {}, 25_636_712, False),
    # the seeds' printouts (model.summary() totals)
    ("resnet_v1_18", SEED_001_RESNET18, 11_708_328, False),
    ("resnext_50_32x4d", SEED_002_RESNEXT, 39_676_136, False),
    ("resnet_v1_18", SEED_003_RESNET18, 11_187_914, False),
    ("inception10", {}, 121_418, False),
])
def test_parameter_counts_equal_the_references(name, knobs, expected, trainable):
    assert describe(name, **knobs).parameter_count(trainable_only=trainable) == expected


def test_slim_tensor_sets_are_the_released_checkpoints():
    assert len(describe("resnet_v1_50").tensors()) == 267
    assert len(describe("resnet_v2_50").tensors()) == 272
    assert describe("resnet_v2_50", num_classes=1000).parameter_count() == 25_613_800
    assert len(describe("resnet_v2_152").tensors()) == 816
    assert len(describe("ResNet50").tensors()) == 320


def _every_description():
    out = [describe(f"resnet_v{v}_{d}") for v in (1, 2) for d in DEPTHS]
    out += [describe(n) for n in ("resnext_50_32x4d", "resnext_101_32x8d", "inception10", "ResNet50",
                                  "resnet18", "resnext50_32x4d")]
    out += [describe("resnet_v1_18", **SEED_001_RESNET18), describe("resnext_50_32x4d", **SEED_002_RESNEXT),
            describe("resnet_v1_50", conv_bias=True, num_classes=None)]
    return out


@pytest.mark.parametrize("description", _every_description(), ids=lambda d: d.name)
@pytest.mark.parametrize("scheme_name", ["slim", "keras", "torchvision"])
def test_every_tensor_round_trips_through_every_scheme(description, scheme_name):
    assert round_trip_failures(scheme_name, description) == []
    bound = scheme(scheme_name, description)
    names = [bound.tensor(n) for n in description.tensors()]
    assert len(set(names)) == len(names)


def test_keras1_scheme_reproduces_the_published_names():
    description = describe("keras1:resnet_v1_50")
    assert round_trip_failures("keras1", description) == []
    k1 = scheme("keras1", description)
    assert k1.tensor("stem/conv/kernel") == "conv1_W:0"
    assert k1.tensor("stem/conv/bn/moving_variance") == "bn_conv1_running_std:0"
    assert k1.tensor("stage1/unit1/shortcut/kernel") == "res2a_branch1_W:0"
    assert k1.tensor("stage3/unit6/conv2/bn/gamma") == "bn4f_branch2b_gamma:0"
    assert k1.tensor("logits/bias") == "fc1000_b:0"


def test_torchvision_scheme_names_kernels_and_batchnorm_scales_both_weight():
    """torchvision's state_dict keys: the parameter name depends on the kind of layer, read from the description."""
    tv = scheme("torchvision", describe("resnet50"))
    assert tv.tensor("stem/conv/kernel") == "conv1.weight" and tv.tensor("stem/conv/bn/gamma") == "bn1.weight"
    assert tv.tensor("stage1/unit1/shortcut/kernel") == "layer1.0.downsample.0.weight"
    assert tv.tensor("stage4/unit3/conv3/bn/moving_variance") == "layer4.2.bn3.running_var"
    assert tv.tensor("logits/kernel") == "fc.weight" and tv.tensor("logits/bias") == "fc.bias"
    assert tv.canonical_tensor("layer1.0.downsample.1.weight") == "stage1/unit1/shortcut/bn/gamma"
    assert tv.canonical_tensor("layer2.0.bn2.bias") == "stage2/unit1/conv2/bn/beta"
    for bad in ["layer1.0.conv1.running_mean", "bn1.kernel", "layer1.3.conv1.weight", "layer01.0.conv1.weight"]:
        with pytest.raises(UnknownNameError):
            tv.canonical_tensor(bad)
    v2 = scheme("torchvision", describe("resnet_v2_50"))
    assert v2.tensor("stage1/unit1/preact/gamma") == "layer1.0.preact.weight"
    assert v2.tensor("postnorm/moving_mean") == "postnorm.running_mean"


def test_slim_names_of_the_new_families():
    assert scheme("slim", describe("resnet_v1_18")).tensor("stage2/unit1/conv1/kernel") == \
        "resnet_v1_18/block2/unit_1/basic_v1/conv1/weights"
    assert scheme("slim", describe("resnext_50_32x4d")).tensor("stage1/unit1/conv2/kernel") == \
        "resnext_50_32x4d/block1/unit_1/bottleneck_v1/conv2/weights"
    assert scheme("slim", describe("inception10")).tensor("stage2/unit1/branch3/conv2/bn/gamma") == \
        "inception10/block2/unit_1/inception/branch3/conv2/BatchNorm/gamma"


def test_unknown_names_are_refused_not_guessed():
    bound = scheme("slim", describe("resnet_v2_50"))
    for bad in ["resnet_v2_101/conv1/weights", "resnet_v2_50/block01/unit_1/bottleneck_v2/conv1/weights",
                "resnet_v2_50/conv1/kernel", "resnet_v2_50/global_step"]:
        with pytest.raises(UnknownNameError):
            bound.canonical_tensor(bad)


def test_a_new_depth_is_data_not_code():
    """A depth no table lists is one description: the units per stage; names, shapes and schemes follow."""
    resnet26 = ResNet(depth=26, units=(2, 2, 2, 2), block="bottleneck", preact=True)
    assert resnet26.name == "resnet_v2_26" and len(resnet26.endpoint_names()) == 8 + 3
    assert round_trip_failures("slim", resnet26) == [] and round_trip_failures("keras", resnet26) == []
    with pytest.raises(SlimcompatError, match="make a ResNet-26, not 28"):
        ResNet(depth=28, units=(2, 2, 2, 2), block="bottleneck")


@pytest.mark.parametrize("name,message", [
    ("resnet_v1_19", "unknown ResNet depth 19"), ("lenet5", "unknown architecture 'lenet5'"),
    ("keras9:resnet_v1_50", "unknown source 'keras9'"), ("keras1:resnet_v2_50", "has no resnet_v2 networks")])
def test_bad_names_are_one_line_errors(name, message):
    with pytest.raises(SlimcompatError, match=message):
        describe(name)


@pytest.mark.parametrize("knobs,message", [
    ({"activation": "gelu"}, "activation must be one of relu, elu"),
    ({"stride_placement": "first_unit_1x1"}, "basic units have no 1x1 conv"),
    ({"bn_epsilon": -1.0}, "bn_epsilon must be a number"),
    ({"groups": 3}, "basic units have no groups"),
    ({"stage_strides": (2, 2, 2)}, "one stride"),
])
def test_invalid_variants_are_refused(knobs, message):
    with pytest.raises(SlimcompatError, match=message):
        describe("resnet_v1_18", **knobs)


def test_descriptions_round_trip_through_their_record():
    for description in _every_description():
        assert from_dict(description.to_dict()) == description
    with pytest.raises(SlimcompatError, match="unknown resnet knob colour"):
        from_dict({**describe("resnet_v1_50").to_dict(), "colour": "red"})


def test_sources_differ_only_where_their_habits_do():
    slim, keras = describe("resnet_v1_50"), describe("ResNet50")
    knobs = {k for k, *_ in slim.differences(keras)}
    assert knobs == {"stem_pool", "stride_placement", "stage_strides", "bn_epsilon", "conv_bias"}
    assert {k for k, *_ in keras.differences(describe("keras1:resnet_v1_50"))} == {"stem_pool", "bn_epsilon"}


def test_command_line_variants_are_typed_by_the_knob():
    assert parse_knobs("activation=elu,elu_alpha=0.5,bn_epsilon=1e-3,add_act=false,stage_strides=2x2x2x2") == {
        "activation": "elu", "elu_alpha": 0.5, "bn_epsilon": 1e-3, "add_act": False, "stage_strides": (2, 2, 2, 2)}
    with pytest.raises(SlimcompatError, match="not a valid float"):
        parse_knobs("bn_epsilon=small")
    with pytest.raises(SlimcompatError, match="expected KNOB=VALUE"):
        parse_knobs("colour=red")


def test_inception10_is_a_family_of_its_own():
    d = describe("inception10")
    assert isinstance(d, Inception10) and d.features == 128
    assert d.endpoint_names() == ["stem", "stage1/unit1", "stage1/unit2", "stage2/unit1", "stage2/unit2",
                                  "pooled", "logits"]
    assert d.replace(num_blocks=3).parameter_count() > d.parameter_count()


def test_each_slim_checkpoint_scope_is_its_descriptions_scope_constant():
    # registry.scope_of reads the {scope} constant instead of binding every rule: every slim name must begin with it
    from slimcompat.arch.registry import all_descriptions, scope_of
    for description in all_descriptions(source="slim"):
        bound, scope = scheme("slim", description), scope_of(description)
        strays = [n for n in map(bound.tensor, description.tensors()) if n.split("/", 1)[0] != scope]
        assert not strays, f"{description.name}: {strays[:3]} outside {scope}"
