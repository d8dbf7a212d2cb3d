"""Weights saved by tf.keras 2.x (tf-keras) loaded into Keras 3 models: TF-format checkpoints through
their object graph (slimcompat.weights.object_checkpoint, slimcompat.keras2.weights), all or nothing."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
import keras

from slimcompat.errors import MappingError, WeightsError
from slimcompat.keras2 import load_weights, weights_exist
from slimcompat.keras2.weights import load_object_checkpoint
from slimcompat.weights.object_checkpoint import ObjectCheckpoint

X = np.random.default_rng(0).standard_normal((4, 16, 16, 3)).astype(np.float32)


def subclassed(K):
    """Seed 003's shapes of code: attributes, a list of layers, a Sequential built later, a dict."""

    class Block(K.Model):
        def __init__(self, filters):
            super().__init__()
            self.parts = [K.layers.Conv2D(filters, 3, padding="same"), K.layers.BatchNormalization()]
            self.named = {"act": K.layers.Activation("relu")}

        def call(self, x):
            for part in self.parts:
                x = part(x)
            return self.named["act"](x)

    class Net(K.Model):
        def __init__(self):
            super().__init__()
            self.stem = K.layers.Conv2D(4, 3)
            self.blocks = K.Sequential()
            for filters in (4, 8):
                self.blocks.add(Block(filters))
            self.pool = K.layers.GlobalAveragePooling2D()
            self.head = K.layers.Dense(3, activation="softmax")

        def call(self, x):
            return self.head(self.pool(self.blocks(self.stem(x))))

    return Net()


def functional(K):
    """Seed 001's shape of code: auto-named layers, a residual Add, Dropout with its seed state."""
    inputs = K.Input((16, 16, 3))
    x = K.layers.Conv2D(4, 3, padding="same")(inputs)
    x = K.layers.BatchNormalization()(x)
    y = K.layers.Conv2D(4, 3, padding="same")(x)
    x = K.layers.Add()([x, y])
    x = K.layers.GlobalAveragePooling2D()(x)
    x = K.layers.Dropout(0.5)(K.layers.Dense(3)(x))
    return K.Model(inputs, x)


def sequential(K):
    return K.Sequential([K.Input((16, 16, 3)), K.layers.Conv2D(2, 3), K.layers.Flatten(), K.layers.Dense(3)])


def _trained(build, tmp_path, save):
    """A tf-keras model trained one step (so nothing is at its initial value), saved by `save`."""
    model = build(tf_keras)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X, np.arange(4) % 3, epochs=1, verbose=0)
    path = str(tmp_path / "saved.ckpt")
    save(model, path)
    return model, path


def _by_save_weights(model, path):
    model.save_weights(path)


def _by_checkpoint(model, path):
    written = tf.train.Checkpoint(model=model, optimizer=model.optimizer).write(path)
    assert written == path


@pytest.mark.parametrize("build", [subclassed, functional, sequential])
@pytest.mark.parametrize("save", [_by_save_weights, _by_checkpoint])
def test_tf_keras_checkpoints_load_exactly_into_keras3(build, save, tmp_path):
    old, path = _trained(build, tmp_path, save)
    new = build(keras)
    new(X[:1])
    mapping = load_object_checkpoint(new, path)
    assert len(mapping) == len(new.weights) == len(old.weights)
    assert sorted(a.numpy().tobytes() for a in old.weights) == sorted(v.numpy().tobytes() for v in new.weights)
    np.testing.assert_allclose(new.predict(X, verbose=0), old.predict(X, verbose=0), rtol=1e-5, atol=1e-6)


def test_object_checkpoint_lists_the_model_without_training_state(tmp_path):
    old, path = _trained(subclassed, tmp_path, _by_save_weights)
    ckpt = ObjectCheckpoint(path)
    variables = ckpt.variables()
    assert len(variables) == len(old.weights) == 16  # stem 2, blocks 2 x (conv 2 + batch norm 4), head 2
    by_name = {v.name: v for v in variables}
    kernel = by_name["blocks/layer_with_weights-1/parts/0/kernel"]
    assert kernel.shape == (3, 3, 4, 8) and kernel.dtype == "float32"
    assert kernel.key == "blocks/layer_with_weights-1/parts/0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert ckpt.resolve(kernel.path) == kernel.node and ckpt.path_of(kernel.node) == kernel.path
    assert np.array_equal(ckpt.read(kernel), old.blocks.layers[1].parts[0].kernel.numpy())
    assert ckpt.holds_values(ckpt.resolve("optimizer"), skip=()) and not any(
        v.name.startswith("optimizer") for v in variables)
    assert len(ckpt.variables(skip=())) > len(variables)
    with pytest.raises(WeightsError, match="no object blocks/nothing"):
        ckpt.resolve("blocks/nothing")


def test_name_based_tf1_checkpoints_are_refused(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.get_variable("w", [2])
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().save(session, str(tmp_path / "tf1.ckpt"))
    with pytest.raises(WeightsError, match="name-based"):
        ObjectCheckpoint(tmp_path / "tf1.ckpt")


def test_a_model_that_does_not_match_gets_nothing_and_the_error_names_both_sides(tmp_path):
    _, path = _trained(sequential, tmp_path, _by_save_weights)
    other = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(5)])
    before = [v.numpy().copy() for v in other.weights]
    with pytest.raises(MappingError) as caught:
        load_object_checkpoint(other, path)
    message = str(caught.value)
    assert message.startswith(f"{path} into {other.name}: tensors do not map: ")
    assert "layer_with_weights-1/kernel expected (392, 5, 'float32') found (392, 3, 'float32')" in message
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, other.weights))


def test_load_before_the_first_call_happens_right_after_it(tmp_path):
    """tf.keras 2.x restored into a subclassed model lazily; Keras 3 models get the same."""
    old, path = _trained(subclassed, tmp_path, _by_save_weights)
    new = subclassed(keras)
    cls = type(new)
    assert load_weights(new, path) is None and not new.weights
    new.compile("adam", "sparse_categorical_crossentropy")
    assert new.evaluate(X, np.arange(4) % 3, verbose=0) == pytest.approx(
        old.evaluate(X, np.arange(4) % 3, verbose=0), rel=1e-5)
    assert type(new) is cls
    assert sorted(a.numpy().tobytes() for a in old.weights) == sorted(v.numpy().tobytes() for v in new.weights)


def test_a_path_renamed_by_migrate_finds_the_checkpoint_written_before(tmp_path, capfd):
    old, _ = _trained(subclassed, tmp_path, lambda m, p: m.save_weights(str(tmp_path / "model.ckpt")))
    renamed = str(tmp_path / "model.weights.h5")
    assert weights_exist(renamed) and not os.path.exists(renamed)
    new = subclassed(keras)
    new(X[:1])
    load_weights(new, renamed)
    assert f"{renamed} does not exist yet: loading {tmp_path / 'model.ckpt'}" in capfd.readouterr().err
    np.testing.assert_allclose(new.predict(X, verbose=0), old.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    new.save_weights(renamed)
    load_weights(new, renamed)
    assert "does not exist yet" not in capfd.readouterr().err
    old.save_weights(str(tmp_path / "model.h5"))
    os.remove(renamed)
    with pytest.raises(WeightsError, match="several earlier checkpoints"):
        load_weights(new, renamed)
    assert not weights_exist(str(tmp_path / "other.weights.h5"))


def test_topological_h5_load_warns_when_layer_names_differ(tmp_path, capfd):
    old = sequential(tf_keras)
    old.save_weights(str(tmp_path / "legacy.h5"))
    keras.Sequential([keras.layers.Dense(1)])  # Keras 3 counts auto names on: the next model's names differ
    new = sequential(keras)
    load_weights(new, str(tmp_path / "legacy.h5"))
    err = capfd.readouterr().err
    assert "legacy.h5: loaded by layer order, and" in err and "layer names differ" in err
    assert sorted(a.numpy().tobytes() for a in old.weights) == sorted(v.numpy().tobytes() for v in new.weights)
