"""The Keras builder reproduces keras.applications exactly, and its options matter."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from fixtures.weights import random_tensors
import pytest

from slimcompat.errors import MappingError, SlimcompatError
from slimcompat.nets.arch import ResNet
from slimcompat.nets.keras_resnet import build, canonical_weights, set_canonical_weights

SMALL = (64, 64, 3)
V1 = ResNet("resnet_v1", 50, conv_bias=True)
V2 = ResNet("resnet_v2", 50)


def _signature(model):
    return [(w.path, tuple(w.shape)) for w in model.weights]


def _random_canonical(arch, seed, num_classes=1000):
    return random_tensors(arch.tensors(num_classes), seed)


def _batch(seed=0):
    return np.random.default_rng(seed).standard_normal((2, *SMALL)).astype(np.float32)


def _outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture(scope="module")
def ours_v1():
    return build(V1, naming="keras", stem_pool="pad1", input_shape=SMALL, classifier_activation=None)


@pytest.mark.parametrize("arch,stock_fn", [(V1, keras.applications.ResNet50), (V2, keras.applications.ResNet50V2)],
                         ids=["ResNet50", "ResNet50V2"])
def test_same_weights_and_outputs_as_keras_applications(arch, stock_fn, ours_v1):
    stock = stock_fn(weights=None, input_shape=SMALL, classifier_activation=None)
    ours = ours_v1 if arch is V1 else build(arch, stem_pool="pad1", input_shape=SMALL, classifier_activation=None)
    assert _signature(ours) == _signature(stock)
    set_canonical_weights(stock, arch, "keras", _random_canonical(arch, seed=1))
    set_canonical_weights(ours, arch, "keras", canonical_weights(stock, arch, "keras"))
    x = _batch()
    expected, got = _outputs(stock, x), _outputs(ours, x)
    assert np.isfinite(expected).all() and np.abs(expected).max() > 1e-3
    assert np.abs(got - expected).max() < 1e-6


@pytest.mark.parametrize("arch,stock_fn", [
    (ResNet("resnet_v1", 101, conv_bias=True), keras.applications.ResNet101),
    (ResNet("resnet_v1", 152, conv_bias=True), keras.applications.ResNet152),
    (ResNet("resnet_v2", 101), keras.applications.ResNet101V2),
    (ResNet("resnet_v2", 152), keras.applications.ResNet152V2),
], ids=["ResNet101", "ResNet152", "ResNet101V2", "ResNet152V2"])
def test_deeper_models_have_the_same_weights_as_keras_applications(arch, stock_fn):
    assert _signature(build(arch, input_shape=SMALL)) == _signature(stock_fn(weights=None, input_shape=SMALL))


def test_stem_pool_changes_outputs_not_weights():
    pad1 = build(V2, stem_pool="pad1", input_shape=SMALL, classifier_activation=None)
    same = build(V2, stem_pool="same", input_shape=SMALL, classifier_activation=None)
    assert _signature(pad1) == _signature(same)
    tensors = _random_canonical(V2, seed=2)
    set_canonical_weights(pad1, V2, "keras", tensors)
    set_canonical_weights(same, V2, "keras", tensors)
    x = _batch(1)
    assert np.abs(_outputs(pad1, x) - _outputs(same, x)).max() > 1e-3


def test_keras1_naming_gives_the_2016_caffe_names():
    model = build(V1, naming="keras1", stem_pool="valid", input_shape=SMALL, bn_epsilon=1e-3)
    names = {layer.name for layer in model.layers}
    assert {"conv1", "bn_conv1", "res2a_branch2a", "bn2a_branch2a", "res2a_branch1", "bn2a_branch1",
            "res3d_branch2c", "res5c_branch2c", "bn5c_branch2c", "fc1000"} <= names
    assert not any(n.startswith("conv2_block") for n in names)
    assert model.get_layer("res3a_branch2a").strides == (2, 2)
    assert set(canonical_weights(model, V1, "keras1")) == set(V1.tensors(1000))
    epsilons = {layer.epsilon for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert epsilons == {1e-3}


def test_slim_v1_strides_in_the_last_units_3x3(ours_v1):
    slim_v1 = build(V1, stride_placement="last_unit_3x3", stem_pool="same", input_shape=SMALL,
                    classifier_activation=None)
    assert _signature(slim_v1) == _signature(ours_v1)
    assert slim_v1.get_layer("conv2_block3_2_conv").strides == (2, 2)
    assert slim_v1.get_layer("conv3_block1_1_conv").strides == (1, 1)
    assert slim_v1.get_layer("conv5_block3_2_conv").strides == (1, 1)
    assert slim_v1.get_layer("stage1_unit3_shortcut_pool").strides == (2, 2)
    assert ours_v1.get_layer("conv3_block1_1_conv").strides == (2, 2)
    assert ours_v1.get_layer("conv3_block1_0_conv").strides == (2, 2)


def test_headless_model_ends_at_the_last_stage():
    model = build(V2, include_top=False, input_shape=SMALL)
    assert tuple(model.output.shape) == (None, 2, 2, 2048)
    assert set(canonical_weights(model, V2, "keras", None)) == set(V2.tensors(None))


def test_set_canonical_weights_checks_everything_before_assigning(ours_v1):
    before = canonical_weights(ours_v1, V1, "keras")
    bad = dict(_random_canonical(V1, seed=3))
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
        canonical_weights(ours_v1, V1, "keras", num_classes=None)


def test_bad_options_are_refused():
    with pytest.raises(SlimcompatError, match="stem_pool 'reflect'"):
        build(V2, stem_pool="reflect", input_shape=SMALL)
    with pytest.raises(SlimcompatError, match="stride_placement"):
        build(V2, stride_placement="everywhere", input_shape=SMALL)
    with pytest.raises(SlimcompatError, match="cannot contain '/'"):
        build(V2, naming="slim", input_shape=SMALL)
