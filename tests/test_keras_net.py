"""The Keras builder reproduces keras.applications exactly, builds every family, and its knobs matter."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from fixtures.weights import random_tensors
from slimcompat.arch import describe
from slimcompat.errors import MappingError, SlimcompatError
from slimcompat.nets.keras_net import build, canonical_weights, endpoint_layers, set_canonical_weights

SMALL = (64, 64, 3)
V1 = describe("ResNet50")
V2 = describe("ResNet50V2")


def _signature(model):
    return [(w.path, tuple(w.shape)) for w in model.weights]


def _batch(seed=0, shape=SMALL):
    return np.random.default_rng(seed).standard_normal((2, *shape)).astype(np.float32)


def _outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture(scope="module")
def ours_v1():
    return build(V1, input_shape=SMALL)


@pytest.mark.parametrize("description,stock_fn", [(V1, keras.applications.ResNet50),
                                                  (V2, keras.applications.ResNet50V2)], ids=["ResNet50", "ResNet50V2"])
def test_same_weights_and_outputs_as_keras_applications(description, stock_fn, ours_v1):
    stock = stock_fn(weights=None, input_shape=SMALL, classifier_activation=None)
    ours = ours_v1 if description is V1 else build(description, input_shape=SMALL)
    assert _signature(ours) == _signature(stock)
    set_canonical_weights(stock, description, "keras", random_tensors(description.tensors(), seed=1))
    set_canonical_weights(ours, description, "keras", canonical_weights(stock, description, "keras"))
    x = _batch()
    expected, got = _outputs(stock, x), _outputs(ours, x)
    assert np.isfinite(expected).all() and np.abs(expected).max() > 1e-3
    assert np.abs(got - expected).max() == 0.0


@pytest.mark.parametrize("name,stock_fn", [("ResNet101", keras.applications.ResNet101),
                                           ("ResNet152", keras.applications.ResNet152),
                                           ("ResNet101V2", keras.applications.ResNet101V2),
                                           ("ResNet152V2", keras.applications.ResNet152V2)])
def test_deeper_models_have_the_same_weights_as_keras_applications(name, stock_fn):
    assert _signature(build(describe(name), input_shape=SMALL)) == _signature(stock_fn(weights=None,
                                                                                       input_shape=SMALL))


@pytest.mark.parametrize("name", ["resnet_v1_18", "resnet_v2_34", "resnext_50_32x4d", "inception10", "resnet18"])
def test_every_family_builds_with_exactly_its_tensors(name):
    description = describe(name)
    model = build(description, input_shape=(32, 32, 3))
    assert model.count_params() == description.parameter_count()
    assert set(canonical_weights(model, description)) == set(description.tensors())
    assert list(endpoint_layers(model)) == description.endpoint_names()


def test_a_grouped_conv_is_one_conv2d_with_groups():
    model = build(describe("resnext_50_32x4d"), input_shape=(32, 32, 3))
    layer = model.get_layer("conv2_block1_2_conv")
    assert layer.groups == 32 and tuple(layer.kernel.shape) == (3, 3, 4, 128)


@pytest.mark.slow   # over 5 s: default tier, not quick
def test_output_knobs_change_outputs_not_weights():
    base = describe("resnet_v1_50", num_classes=10)
    tensors = random_tensors(base.tensors(), seed=2)
    x = _batch(1)
    reference = build(base, input_shape=SMALL)
    set_canonical_weights(reference, base, "keras", tensors)
    for knobs in ({"stem_pool": "pad1"}, {"activation": "elu"}, {"bn_epsilon": 1e-3}, {"padding": "same"},
                  {"stride_placement": "first_unit_3x3", "stage_strides": (1, 2, 2, 2)}):
        variant = base.replace(**knobs)
        model = build(variant, input_shape=SMALL)
        assert _signature(model) == _signature(reference), knobs
        set_canonical_weights(model, variant, "keras", tensors)
        assert np.abs(_outputs(model, x) - _outputs(reference, x)).max() > 1e-4, knobs


def test_elu_model_uses_elu_layers():
    model = build(describe("resnet_v1_50", activation="elu", elu_alpha=0.7), input_shape=SMALL)
    elus = [layer for layer in model.layers if isinstance(layer, keras.layers.ELU)]
    assert len(elus) == 1 + 16 * 3 and {layer.alpha for layer in elus} == {0.7}
    assert not any(isinstance(layer, keras.layers.ReLU) for layer in model.layers)


def test_keras1_naming_gives_the_2016_caffe_names():
    description = describe("keras1:resnet_v1_50")
    model = build(description, naming="keras1", input_shape=SMALL)
    names = {layer.name for layer in model.layers}
    assert {"conv1", "bn_conv1", "res2a_branch2a", "bn2a_branch2a", "res2a_branch1", "bn2a_branch1",
            "res3d_branch2c", "res5c_branch2c", "bn5c_branch2c", "fc1000"} <= names
    assert not any(n.startswith("conv2_block") for n in names)
    assert model.get_layer("res3a_branch2a").strides == (2, 2)
    assert set(canonical_weights(model, description, "keras1")) == set(description.tensors())
    epsilons = {layer.epsilon for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert epsilons == {1e-3}


def test_slim_v1_strides_in_the_last_units_3x3(ours_v1):
    slim_v1 = build(describe("resnet_v1_50", conv_bias=True), input_shape=SMALL)
    assert _signature(slim_v1) == _signature(ours_v1)
    assert slim_v1.get_layer("conv2_block3_2_conv").strides == (2, 2)
    assert slim_v1.get_layer("conv3_block1_1_conv").strides == (1, 1)
    assert slim_v1.get_layer("conv5_block3_2_conv").strides == (1, 1)
    assert ours_v1.get_layer("conv3_block1_1_conv").strides == (2, 2)
    assert ours_v1.get_layer("conv3_block1_0_conv").strides == (2, 2)


def test_headless_model_ends_at_the_pooled_features():
    headless = V2.replace(num_classes=None)
    model = build(headless, input_shape=SMALL)
    assert tuple(model.output.shape) == (None, 2048)
    assert set(canonical_weights(model, headless)) == set(headless.tensors())


def test_set_canonical_weights_checks_everything_before_assigning(ours_v1):
    before = canonical_weights(ours_v1, V1, "keras")
    bad = dict(random_tensors(V1.tensors(), seed=3))
    del bad["stage2/unit1/conv1/kernel"]
    bad["stage9/unit1/conv1/kernel"] = np.zeros((1, 1, 1, 1), np.float32)
    bad["logits/bias"] = np.zeros(10, np.float32)
    with pytest.raises(MappingError) as info:
        set_canonical_weights(ours_v1, V1, "keras", bad)
    message = str(info.value)
    assert "\n" not in message
    assert "stage2/unit1/conv1/kernel" in message and "stage9/unit1/conv1/kernel" in message
    assert "logits/bias expected (1000,) found (10,)" in message
    after = canonical_weights(ours_v1, V1, "keras")
    assert all(np.array_equal(before[n], after[n]) for n in before)
    with pytest.raises(MappingError, match=r"2 unexpected \(logits/kernel, logits/bias\)"):
        canonical_weights(ours_v1, V1.replace(num_classes=None), "keras")


def test_a_scheme_that_cannot_name_keras_layers_is_refused():
    with pytest.raises(SlimcompatError, match="not a usable Keras layer name"):
        build(V2, naming="slim", input_shape=SMALL)
