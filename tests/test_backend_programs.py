"""Keras 2 graph-era programs (the Keras backend's K.function / K.gradients / K.update) under `slimcompat run`.

Keras 2.2's deep_dream.py, neural_style_transfer.py and
conv_filter_visualization.py built an objective on a model's tensors with
`loss = K.variable(0.); loss += ...`, differentiated it with `K.gradients` and
ran gradient ascent through `K.function`. `run` must read them as TF1 graph
mode plus Keras 2, with no flags, and give the numbers TF 2 gives for the same
objective written with GradientTape.
"""

import json
import textwrap

import numpy as np
import pytest

from conftest import slimcompat
from slimcompat.legacy.program import analyse

# Written for this test in the style of Keras 2.2's examples.
DREAM = textwrap.dedent('''
    """Gradient ascent on an input image, as Keras 2.2's deep_dream.py did it."""
    import json
    import sys

    import numpy as np
    from keras import backend as K
    from keras.layers import Conv2D, Input
    from keras.models import Model

    K.set_learning_phase(0)
    inputs = Input(shape=(6, 6, 2))
    model = Model(inputs, Conv2D(3, (3, 3), padding="same", activation="relu", name="block1_conv")(inputs))
    dream = model.input

    loss = K.variable(0.)
    activation = model.get_layer("block1_conv").output
    loss += 0.5 * K.sum(K.square(activation[:, 1:-1, 1:-1, :])) / 16.
    loss += K.mean(activation[:, :, :, 0])
    grads = K.gradients(loss, dream)[0]
    grads /= K.maximum(K.mean(K.abs(grads)), K.epsilon())
    fetch_loss_and_grads = K.function([dream], [loss, grads])

    step = K.variable(0.1)
    iterations = K.variable(0.)
    count = K.update(iterations, iterations + 1.)
    img = np.random.RandomState(0).uniform(size=(1, 6, 6, 2)).astype("float32")
    start = img.copy()
    losses = []
    for i in range(4):
        loss_value, grad_values = fetch_loss_and_grads([img])
        losses.append(float(loss_value))
        img += K.get_value(step) * grad_values
        K.get_session().run(count)
    K.set_value(step, 0.05)
    kernel, bias = model.get_layer("block1_conv").get_weights()
    json.dump({"losses": losses, "step": float(K.get_value(step)), "iterations": float(K.get_value(iterations)),
               "start": start.tolist(), "kernel": kernel.tolist(), "bias": bias.tolist()}, open(sys.argv[1], "w"))
''')


def _expected_losses(result):
    """The same ascent written for TF 2: eager, GradientTape, no Keras backend."""
    import tensorflow as tf
    kernel, bias = tf.constant(result["kernel"]), tf.constant(result["bias"])
    img = tf.constant(result["start"], tf.float32)
    losses = []
    for _ in range(4):
        with tf.GradientTape() as tape:
            tape.watch(img)
            activation = tf.nn.relu(tf.nn.conv2d(img, kernel, 1, "SAME") + bias)
            loss = 0.5 * tf.reduce_sum(tf.square(activation[:, 1:-1, 1:-1, :])) / 16. \
                + tf.reduce_mean(activation[:, :, :, 0])
        grads = tape.gradient(loss, img)
        grads /= tf.maximum(tf.reduce_mean(tf.abs(grads)), 1e-7)
        losses.append(float(loss))
        img += 0.1 * grads
    return losses


def test_backend_graph_constructs_mean_tf1_graph_mode_and_keras2(tmp_path):
    (tmp_path / "dream.py").write_text(DREAM)
    program = analyse(tmp_path / "dream.py")
    assert [e.construct for e in program.tf1()][:2] == ["K.set_learning_phase", "K.gradients"]
    version, evidence = program.keras_version()
    assert version == "2" and evidence.construct == "K.set_learning_phase"


@pytest.mark.parametrize("source", [
    "import tensorflow as tf\nf = tf.keras.backend.function([], [])\n",
    "from keras import backend as K\nx = K.get_value(K.variable(1.0))\n",
])
def test_backend_calls_that_work_eagerly_are_no_tf1_evidence(tmp_path, source):
    (tmp_path / "p.py").write_text(source)
    assert analyse(tmp_path / "p.py").tf1() == []


def test_a_deep_dream_style_program_runs_under_run_with_no_flags(tmp_path):
    (tmp_path / "dream.py").write_text(DREAM)
    out = slimcompat("run", tmp_path / "dream.py", tmp_path / "out.json", cwd=tmp_path)
    banner = [line for line in out.stderr.splitlines() if line.startswith("slimcompat run:")]
    assert len(banner) == 1
    assert banner[0].startswith("slimcompat run: TF1 API in graph mode (K.set_learning_phase at dream.py:11); Keras 2")
    assert banner[0].endswith("as tf.keras and keras (K.set_learning_phase at dream.py:11)")
    result = json.loads((tmp_path / "out.json").read_text())
    assert all(b > a for a, b in zip(result["losses"], result["losses"][1:])), result["losses"]
    np.testing.assert_allclose(result["losses"], _expected_losses(result), rtol=1e-4)
    assert result["iterations"] == 4.0 and result["step"] == pytest.approx(0.05)


TRAIN_IN_GRAPH_MODE = textwrap.dedent('''
    import numpy as np
    import keras
    from keras import backend as K
    from keras.models import Sequential
    from keras.layers import Dense
    x = np.random.RandomState(0).rand(64, 4).astype('float32')
    y = x.sum(axis=1, keepdims=True)
    model = Sequential([Dense(1, input_shape=(4,))])
    model.compile(optimizer=keras.optimizers.Adadelta(), loss='mse')
    history = model.fit(x, y, epochs=2, verbose=0)
    gradient = K.function([model.input], K.gradients(K.sum(model.output), [model.input]))([x[:2]])[0]
    print('optimizer', type(model.optimizer).__module__, model.optimizer.get_config()['learning_rate'],
          'losses', len(history.history['loss']), 'gradient', gradient.shape)
''')


@pytest.mark.slow
def test_a_graph_era_program_that_trains_gets_the_optimizers_of_its_day(tmp_path):
    """In TF1 graph mode tf-keras' compile can only convert a new-style optimizer to its legacy twin
    eagerly, and fails; `run` gives such a program the legacy classes (Keras 2's), at the era's rate."""
    (tmp_path / "prog.py").write_text(TRAIN_IN_GRAPH_MODE)
    out = slimcompat("run", tmp_path / "prog.py", cwd=tmp_path).stdout.split()
    assert out[:2] == ["optimizer", "tf_keras.src.optimizers.legacy.adadelta"], out
    assert float(out[2]) == 1.0 and out[3:] == ["losses", "2", "gradient", "(2,", "4)"]
