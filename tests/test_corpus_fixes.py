"""Fixes found by the corpus tier (tests/corpus), each shown on the smallest source that has it.

The corpus runs the era's programs in subprocesses and takes minutes; these
check the decision each failure came from, in-process and from source alone.
"""

import ast
import textwrap

import pytest

from conftest import slimcompat
from slimcompat.legacy.program import analyse_tree


def _program(source):
    return analyse_tree(ast.parse(textwrap.dedent(source)), "main.py")


@pytest.mark.parametrize("call, construct", [
    ("SGD(lr=0.01, momentum=0.9)", "SGD(lr=...)"),            # Keras 2.2.4 examples/mnist_net2net.py
    ("keras.optimizers.RMSprop(decay=1e-5)", "RMSprop(decay=...)"),
    ("Nadam(schedule_decay=0.004)", "Nadam(schedule_decay=...)"),
])
def test_an_optimizer_given_lr_or_decay_is_keras2(call, construct):
    """Keras 3 refuses `lr=` and `decay=` ("Argument(s) not recognized"); tf-keras takes them: Keras 2 is meant."""
    program = _program(f"""
        import keras
        from keras.optimizers import SGD, Nadam
        model = keras.Sequential([keras.layers.Dense(1)])
        model.compile(optimizer={call}, loss="mse")
    """)
    version, evidence = program.keras_version()
    assert (version, evidence.construct, evidence.line) == ("2", construct, 5)


def test_an_optimizer_given_learning_rate_is_no_evidence_either_way():
    """`learning_rate=` is Keras 2.3's name and Keras 3's: the program is read as standalone Keras code of the
    Keras 2 years, unless something of Keras 3 says otherwise (an `lr` variable is not an argument)."""
    source = """
        import keras
        model = keras.Sequential([keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
        lr = 0.1
        print(dict(lr=lr))
    """
    version, evidence = _program(source).keras_version()
    assert (version, evidence.construct, evidence.line) == ("2", "import keras and nothing of Keras 3", 2)
    version, evidence = _program(source.rstrip(" ") + "        y = keras.ops.relu(1.0)\n").keras_version()
    assert (version, evidence.construct) == ("3", "keras.ops.relu")


@pytest.mark.parametrize("method", ["make_one_shot_iterator", "make_initializable_iterator"])
def test_tf1_dataset_methods_are_tf1_evidence(method):
    """`dataset.make_one_shot_iterator()` exists only on TF1's Dataset (Keras 2.2.4 examples/mnist_dataset_api.py)."""
    program = _program(f"""
        import tensorflow as tf
        dataset = tf.data.Dataset.from_tensor_slices([1, 2, 3]).batch(2)
        iterator = dataset.{method}()
    """)
    assert [(e.construct, e.line) for e in program.tf1_imports] == [(f".{method}()", 4)]


def test_tf2_dataset_iteration_is_not_tf1_evidence():
    program = _program("""
        import tensorflow as tf
        dataset = tf.data.Dataset.from_tensor_slices([1, 2, 3]).batch(2)
        iterator = iter(dataset)
        make_one_shot_iterator = None
    """)
    assert program.tf1_imports == []


def test_an_optimizers_lr_is_its_learning_rate_under_run(write):
    """tf-keras drops `lr=` with a warning (RMSprop(lr=1e-6) trained at 0.001: mnist_irnn's loss went to 1e23)."""
    program = write("lr.py", textwrap.dedent("""
        import warnings
        from keras.optimizers import RMSprop, SGD
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            optimizers = [RMSprop(lr=1e-6), RMSprop(0.5, lr=2e-6), SGD(lr=0.3, momentum=0.9),
                          RMSprop(learning_rate=4e-6)]
        print(["legacy" in type(o).__module__ for o in optimizers])
        print(["%.3g" % float(o.learning_rate) for o in optimizers])
        print(sum("Update your `RMSprop` call to the Keras 2 API: lr=1e-06 -> learning_rate=1e-06" in str(w.message)
                  for w in caught))
    """))
    out = slimcompat("run", program, cwd=program.parent).stdout.splitlines()
    assert out[-3:] == ["[False, False, False, False]",
                        "['1e-06', '2e-06', '0.3', '4e-06']", "1"]


def test_tf1_summaries_migrate_to_the_graph_ops_merge_all_collects(tmp_path, capsys):
    """`tf.summary.scalar` in TF1 code is the v1 graph op; TF 2's namesake is TensorBoard's eager writer."""
    from slimcompat.cli.main import main
    source = tmp_path / "tf1.py"
    source.write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32, [])\n"
                      "tf.summary.scalar('x', x)\ntf.summary.histogram('h', x)\nmerged = tf.summary.merge_all()\n")
    assert main(["migrate", str(source), str(tmp_path / "tf2.py")]) == 0, capsys.readouterr().out
    migrated = (tmp_path / "tf2.py").read_text()
    for name in ("scalar", "histogram", "merge_all"):
        assert f"tf.compat.v1.summary.{name}(" in migrated, migrated


TENSORBOARD_2_2 = """
import numpy as np
from keras.callbacks import TensorBoard
x = np.zeros((4, 3), 'float32')
board = TensorBoard(log_dir='logs', batch_size=32, embeddings_freq=0, embeddings_layer_names=['f'],
                    embeddings_data=x)
print('made', type(board).__module__.split('.')[0])
"""


@pytest.mark.slow
def test_tensorboard_arguments_tf_keras_ignores_are_dropped_under_run(tmp_path):
    """Keras 2.2's TensorBoard(batch_size=, embeddings_data=array): tf-keras takes them only to ignore them
    and fails on the array ("truth value ... ambiguous"); `run` drops them with one line naming the site."""
    (tmp_path / "prog.py").write_text(TENSORBOARD_2_2)
    out = slimcompat("run", tmp_path / "prog.py", cwd=tmp_path)
    assert out.stdout.split() == ["made", "tf_keras"]
    lines = [line for line in out.stderr.splitlines() if "dropped" in line]
    assert len(lines) == 1 and "prog.py:5" in lines[0], out.stderr
    assert "TensorBoard(batch_size=..., embeddings_data=..., embeddings_layer_names=...)" in lines[0]


def test_keras2_lowercase_optimizer_aliases_get_their_class_name_after_migrate():
    """Keras 2.2's `keras.optimizers.rmsprop` was an alias of RMSprop (examples/cifar10_cnn.py); Keras 3 has
    only the class."""
    from slimcompat import migrate
    text, _ = migrate.migrate_source("import keras\nopt = keras.optimizers.rmsprop(lr=0.0001)\n")
    assert "keras.optimizers.RMSprop(learning_rate=0.0001)" in text


def test_a_graph_era_file_kept_on_keras2_gets_the_backend_with_its_graph_functions():
    """tf-keras' public backend has no get_session (Keras 2.2 examples/mnist_tfrecord.py calls it); its
    implementation module, which `run` serves as keras.backend, has every Keras 2 backend function."""
    from slimcompat import migrate
    text, _ = migrate.migrate_source("import keras\nfrom keras import backend as K\nsess = K.get_session()\n")
    assert "from tf_keras.src import backend as K" in text and "import tf_keras as keras" in text
    namespace = {}
    exec("from tf_keras.src import backend as K\nf = K.get_session", namespace)


def test_tf1_mnist_idx_files_are_in_the_corpus_data(tmp_path):
    from slimcompat.legacy import tf1_mnist
    from slimcompat.testing import corpus_data
    names = [n for n in corpus_data.DATASET_FILES if n.endswith("-ubyte.gz")]
    corpus_data.write_datasets(str(tmp_path), names=names)
    data = tf1_mnist.read_data_sets(str(tmp_path), validation_size=0, dtype="uint8", reshape=False)
    x_train, y_train, x_test, y_test = corpus_data._mnist_arrays()
    assert (data.train.images[..., 0] == x_train).all() and (data.test.labels == y_test).all()


def test_a_tf1_file_that_builds_keras_models_keeps_keras2_after_migrate():
    """Graph mode (TF1 names such as tf.random_uniform) plus a Keras model: Keras 3 cannot fit in graph mode,
    tf-keras can, as under `run` (Keras 2.2 examples/cifar10_cnn_tfaugment2d.py)."""
    from slimcompat import migrate
    text, logs = migrate.migrate_source(textwrap.dedent("""
        import tensorflow as tf
        from keras.models import Sequential
        from keras.layers import Dense, Lambda
        model = Sequential([Lambda(lambda x: x + tf.random_uniform(tf.shape(x))), Dense(1)])
    """))
    assert "from tf_keras.models import Sequential" in text and "disable_v2_behavior()" in text
    assert any("Keras models in TF1 graph mode" in m for _, _, _, m in logs)
    eager, _ = migrate.migrate_source("from keras.models import Sequential\nmodel = Sequential()\n")
    assert "tf_keras" not in eager


def test_a_models_reset_states_survives_migrate_and_metrics_keep_theirs():
    """Keras 2 models had reset_states() (examples/lstm_stateful.py resets between sequences); Keras 3 kept
    it on layers only, and renamed the metrics' to reset_state()."""
    import keras
    import numpy as np
    from slimcompat import migrate
    text, _ = migrate.migrate_source(textwrap.dedent("""
        import keras
        model = make()
        m = keras.metrics.Mean()
        model.reset_states()
        m.reset_states()
    """))
    assert "slimcompat.keras2.reset_states(model)" in text and "m.reset_state()" in text
    from slimcompat.keras2 import reset_states
    model = keras.Sequential([keras.Input(batch_shape=(1, 2, 1)), keras.layers.LSTM(2, stateful=True)])
    model.predict(np.ones((1, 2, 1)), verbose=0)
    state = model.layers[0].states[0]
    assert np.abs(keras.ops.convert_to_numpy(state)).sum() > 0
    reset_states(model)
    assert np.abs(keras.ops.convert_to_numpy(model.layers[0].states[0])).sum() == 0


CUSTOM_LOSS = """
import numpy as np
from keras import backend as K
from keras.models import Sequential
from keras.layers import Dense

def contrastive(y_true, y_pred):
    return K.mean(y_true * K.square(y_pred) + (1 - y_true) * K.square(K.maximum(1 - y_pred, 0)))

model = Sequential([Dense(1, input_shape=(3,))])
model.compile(loss=contrastive, optimizer='rmsprop')
history = model.fit(np.ones((8, 3), 'float32'), np.array([0, 1] * 4), epochs=1, verbose=0)
print('trained', len(history.history['loss']))
"""


@pytest.mark.slow
def test_a_custom_loss_gets_targets_in_the_outputs_dtype_under_run(tmp_path):
    """Keras 2.2 fed targets through placeholders of the output's dtype, so examples/mnist_siamese.py's
    contrastive loss multiplies int labels by float outputs; tf-keras passes them as given and fails."""
    (tmp_path / "prog.py").write_text(CUSTOM_LOSS)
    out = slimcompat("run", tmp_path / "prog.py", cwd=tmp_path)
    assert out.stdout.split() == ["trained", "1"]
    assert "loss contrastive: y_true int64 cast to the output's float32" in out.stderr


def test_keras22_batch_dot_is_matrix_products_of_the_batches():
    """Keras 2.2's batch_dot (examples/cifar10_cnn_capsule.py's routing) on TF and Keras 3 tensors alike."""
    import keras
    import numpy as np
    import tensorflow as tf
    from slimcompat import migrate
    from slimcompat.keras2 import batch_dot
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3, 4)).astype("float32"), rng.standard_normal((2, 3, 5, 4)).astype("float32")
    expected = np.einsum("bik,bijk->bij", x, y)
    for convert in (tf.constant, keras.ops.convert_to_tensor):
        np.testing.assert_allclose(np.asarray(batch_dot(convert(x), convert(y), [2, 3])), expected, atol=1e-5)
    c = rng.standard_normal((2, 3, 5)).astype("float32")
    np.testing.assert_allclose(np.asarray(batch_dot(tf.constant(c), tf.constant(y), [2, 2])),
                               np.einsum("bij,bijk->bik", c, y), atol=1e-5)
    a, b = rng.standard_normal((2, 4)).astype("float32"), rng.standard_normal((2, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(batch_dot(tf.constant(a), tf.constant(b), 1)),
                               (a * b).sum(axis=1, keepdims=True), atol=1e-5)
    text, _ = migrate.migrate_source("from keras import backend as K\nz = K.batch_dot(x, y, [2, 3])\n")
    assert "slimcompat.keras2.batch_dot(x, y, [2, 3])" in text
