"""A user's own VGG16 and MobileNet v1, written layer by layer with Keras' automatic names, recognised by structure.

Nothing is read from layer names: the trace's ops are matched against each
candidate the zoo families declare (slimcompat.arch.families: `recognize`).
"""

import keras
import numpy as np
import pytest

from slimcompat.structure import model_weights
from slimcompat.structure.recognize import RecognitionError, recognize
from slimcompat.weights import keras_io


def user_vgg16(classes=1000, dropout=0.5):
    model = keras.Sequential([keras.Input((224, 224, 3))])
    for repeat, channels in ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)):
        for _ in range(repeat):
            model.add(keras.layers.Conv2D(channels, 3, padding="same", activation="relu"))
        model.add(keras.layers.MaxPooling2D(2))
    model.add(keras.layers.Flatten())
    for _ in range(2):
        model.add(keras.layers.Dense(4096, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(classes))
    return model


def user_mobilenet_v1(classes=10, size=128, width=1.0, last=(1024, 1)):
    def bn_relu6(x):
        return keras.layers.ReLU(6.0)(keras.layers.BatchNormalization(epsilon=1e-3)(x))
    x = inputs = keras.Input((size, size, 3))
    x = bn_relu6(keras.layers.Conv2D(int(32 * width), 3, strides=2, padding="same", use_bias=False)(x))
    blocks = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)) + ((512, 1),) * 5 + ((1024, 2), last)
    for channels, stride in blocks:
        x = bn_relu6(keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x))
        x = bn_relu6(keras.layers.Conv2D(int(channels * width), 1, use_bias=False)(x))
    x = keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, keras.layers.Dense(classes)(x))


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        low = 0.5 if "variance" in variable.path or "gamma" in variable.path else -0.05
        variable.assign(rng.uniform(low, low + (1.0 if low > 0 else 0.1), shape).astype("float32"))


def _same_outputs(model, weights, size):
    images = np.random.default_rng(1).uniform(-1, 1, (2, size, size, 3)).astype("float32")
    ours = keras_io.to_keras_model(weights)(images).numpy()
    theirs = model(images).numpy()
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def test_a_users_mobilenet_v1_is_recognised_with_its_width_and_size():
    model = user_mobilenet_v1(width=0.5, size=160)
    _randomize(model, 2)
    found = recognize(model)
    assert found.description.name == "mobilenet_v1_0.5_160"
    assert found.description.num_classes == 10 and found.description.dropout == pytest.approx(0.2)
    assert len(found.tensors) == len(model.weights) and not found.unused
    weights = model_weights.read(model, found)
    assert _same_outputs(model, weights, 160) <= 1e-6
    twin = user_mobilenet_v1(width=0.5, size=160)
    model_weights.write(twin, weights)
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(model.weights, twin.weights))


def test_a_network_no_family_has_is_refused_naming_where_it_departs():
    with pytest.raises(RecognitionError, match=r"mobilenet_v1_1.0_128.*stride|/2") as caught:
        recognize(user_mobilenet_v1(last=(1024, 2)))          # a stride no MobileNet has
    assert "depthwise" in str(caught.value) and len(str(caught.value).splitlines()) == 1


@pytest.mark.zoo
def test_a_users_vgg16_is_recognised_and_its_dense_layers_are_slims_convolutions():
    model = user_vgg16(dropout=0.4)
    _randomize(model, 3)
    found = recognize(model)
    assert found.description.name == "vgg_16" and found.description.dropout == pytest.approx(0.4)
    assert found.description.l2 == 0.0 and len(found.tensors) == len(model.weights)
    weights = model_weights.read(model, found)
    assert weights.tensors["fc6/kernel"].shape == (7, 7, 512, 4096)
    assert np.array_equal(weights.tensors["fc6/kernel"].reshape(25088, 4096), model.layers[-5].kernel.numpy())
    assert _same_outputs(model, weights, 224) <= 1e-5
