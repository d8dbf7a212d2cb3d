"""`slimcompat migrate` on Keras-era files: leave what runs on Keras 3, rewrite what must change, warn about the rest."""

import inspect
import os
import textwrap

import keras
import pytest
import tf_keras

from slimcompat import migrate
from slimcompat.keras2.modules import ANY_LAYER, KERAS3_REFUSED, KERAS3_REQUIRED, LEGACY, keras3_home


def _migrate(source):
    text, logs = migrate.migrate_source(textwrap.dedent(source))
    return text, sorted((level, line, message) for level, line, _, message in logs)


def test_a_tf2_keras_file_is_left_alone():
    source = textwrap.dedent("""\
        import tensorflow as tf
        from tensorflow.keras import layers
        model = tf.keras.Sequential([layers.Conv2D(8, 3), layers.MaxPooling2D(), layers.Dense(2)])
        model.save_weights('model.weights.h5')
        model.load_weights('pretrained.weights.h5')
        print(tf.reduce_sum(tf.ones([2])).numpy())
    """)
    assert migrate.migrate_source(source) == (source, [])


def test_weight_paths_keras3_refuses_are_renamed_everywhere_they_flow():
    text, logs = _migrate("""\
        import os
        import tensorflow as tf
        ckpt = './checkpoint/model.ckpt'  # where the program resumes from
        if os.path.exists(ckpt + '.index'):
            model.load_weights(ckpt)
        callback = tf.keras.callbacks.ModelCheckpoint(filepath=ckpt, save_weights_only=True)
        model.save_weights(os.path.join(folder, 'final.h5'))
        model.save_weights(f'{folder}/epoch_{epoch}')
        every = tf.keras.callbacks.ModelCheckpoint('cp-{epoch:04d}.ckpt', 'val_loss', 0, True)
        whole = tf.keras.callbacks.ModelCheckpoint('best.h5')
        model.load_weights('pretrained.ckpt')
    """)
    assert textwrap.dedent("""\
        import os
        import slimcompat.keras2
        import tensorflow as tf
        ckpt = './checkpoint/model.weights.h5'  # where the program resumes from
        if slimcompat.keras2.weights_exist(ckpt):
            slimcompat.keras2.load_weights(model, ckpt)
        callback = tf.keras.callbacks.ModelCheckpoint(filepath=ckpt, save_weights_only=True)
        model.save_weights(os.path.join(folder, 'final.weights.h5'))
        slimcompat.keras2.save_weights(model, f'{folder}/epoch_{epoch}.weights.h5')
        every = tf.keras.callbacks.ModelCheckpoint('cp-{epoch:04d}.weights.h5', 'val_loss', 0, True)
        whole = tf.keras.callbacks.ModelCheckpoint('best.h5')
        slimcompat.keras2.load_weights(model, 'pretrained.ckpt')
    """) == text
    lines = {line: message for level, line, message in logs if level == "INFO"}
    assert set(lines) == {2, 3, 4, 5, 7, 8, 9, 11}  # the added import is reported at the line it precedes
    assert "'pretrained.ckpt'" not in lines[3] and "Keras 3 cannot read TF-format checkpoints" in lines[11]
    assert migrate.migrate_source(text) == (text, [])


def test_legacy_h5_loads_stay_with_a_warning_when_topological():
    text, logs = _migrate("""\
        model.load_weights('resnet50.h5', by_name=True)
        model.load_weights('resnet50.h5')
        name = 'x'
        model.save_weights(name + suffix)
    """)
    assert "model.load_weights('resnet50.h5', by_name=True)\nmodel.load_weights('resnet50.h5')\n" in text
    assert [(level, line) for level, line, _ in logs] == [("INFO", 1), ("INFO", 4), ("WARNING", 2)]  # sorted
    assert "pairs the file's layers with the model's by order" in logs[2][2]
    assert "its path is computed: it gets the .weights.h5 name at run time" in logs[1][2]


def test_layer_arguments_keras3_made_required_get_keras2_defaults():
    text, logs = _migrate("""\
        from tensorflow.keras.layers import AveragePooling2D
        import keras
        a = AveragePooling2D()
        b = keras.layers.AveragePooling1D(padding='same')
        c = AveragePooling2D(3)
        d = keras.layers.MaxPooling2D()
    """)
    assert "a = AveragePooling2D(pool_size=(2, 2))\n" in text
    assert "b = keras.layers.AveragePooling1D(pool_size=2, padding='same')\n" in text
    assert "c = AveragePooling2D(3)\nd = keras.layers.MaxPooling2D()\n" in text
    assert [line for _, line, _ in logs] == [3, 4]


def test_keras2_weights_argument_becomes_weights_set_when_built():
    """Keras 2 layers took weights=[kernel, bias] (net2net examples deepen a trained model so); Keras 3 refuses it
    on every layer but Embedding. The migrated layer gets exactly those values once built."""
    import numpy as np
    text, logs = _migrate("""\
        from keras.models import Sequential
        from keras.layers import Conv2D, Embedding
        model = Sequential()
        model.add(Conv2D(2, 3, input_shape=(5, 5, 1), weights=w, name='c'))
        model.add(Embedding(10, 4, weights=[table]))
    """)
    assert "slimcompat.keras2.initial_weights(Conv2D(2, 3, input_shape=(5, 5, 1), name='c'), w)" in text
    assert "Embedding(10, 4, weights=[table])" in text
    assert [m for _, line, m in logs if line == 4 and "weights=" in m]
    w = [np.arange(18, dtype="float32").reshape(3, 3, 1, 2), np.array([5.0, -1.0], "float32")]
    table = np.zeros((10, 4), "float32")
    namespace = {"w": w, "table": table}
    exec(compile(text.replace("model.add(Embedding(10, 4, weights=[table]))", ""), "<migrated>", "exec"), namespace)
    layer = namespace["model"].get_layer("c")
    assert all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), w))


_SAMPLE = {"batch_size": 32, "write_grads": True, "embeddings_layer_names": ["features"],
           "embeddings_data": [[0.0]], "weights": None, "tensor": None, "input_tensor": None, "target_tensors": None,
           "batch_input_shape": (2, 3)}


def test_keras3_refused_table_matches_the_libraries():
    """Each keyword the table lists is refused by Keras 3; the ones `migrate` drops are taken by tf-keras."""
    import numpy as np
    import tensorflow as tf
    checked = 0
    for callee, keywords in KERAS3_REFUSED.items():
        for keyword, action in keywords.items():
            value = _SAMPLE[keyword]
            if callee == ANY_LAYER:
                value = [np.zeros((2, 2), "float32"), np.zeros(2, "float32")]
                make = lambda lib: getattr(lib.layers, "Dense")(2, **{keyword: value})  # noqa: E731
            elif callee == "compile":
                make = lambda lib: lib.Sequential([lib.layers.Dense(1)]).compile(  # noqa: E731
                    "sgd", "mse", **{keyword: [tf.zeros([1, 1])]})
            elif callee in ("Input", "InputLayer"):
                make = lambda lib: getattr(lib.layers, callee)(**{keyword: tf.zeros([1, 2])})  # noqa: E731
            else:
                make = lambda lib: getattr(lib.callbacks, callee)(**{keyword: value})  # noqa: E731
            with pytest.raises((TypeError, ValueError)):
                make(keras)
            if action in ("drop", "initial_weights"):
                make(tf_keras)
            checked += 1
    assert checked == sum(map(len, KERAS3_REFUSED.values()))


def test_refused_keywords_tf_keras_ignored_are_removed_and_say_keras2_to_run():
    from slimcompat.legacy.program import analyse_tree
    import ast
    source = """\
        from keras.callbacks import TensorBoard
        tensorboard = TensorBoard(batch_size=32, embeddings_freq=1, embeddings_layer_names=['features'],
                                  embeddings_metadata='metadata.tsv', embeddings_data=x_test)
    """
    text, logs = _migrate(source)
    assert "TensorBoard(embeddings_freq=1, embeddings_metadata='metadata.tsv')" in text.replace("\n", "")\
        .replace(" " * 26, " ")
    assert sum("Removed TensorBoard(" in m for _, _, m in logs) == 3
    version, evidence = analyse_tree(ast.parse(textwrap.dedent(source))).keras_version()
    assert version == "2" and "TensorBoard(batch_size=...)" in str(evidence)


def test_keras3_required_table_matches_the_libraries():
    for layer, (argument, default) in KERAS3_REQUIRED.items():
        new = inspect.signature(getattr(keras.layers, layer)).parameters[argument]
        old = inspect.signature(getattr(tf_keras.layers, layer)).parameters[argument]
        assert new.default is inspect.Parameter.empty and repr(old.default) == default, layer


def test_imports_from_dropped_modules_go_to_their_keras3_homes():
    text, logs = _migrate("""\
        from __future__ import print_function
        from keras.layers.core import Dense, Flatten
        from keras.utils.np_utils import to_categorical
        from keras.engine.topology import get_source_inputs, Network
        from keras.utils import layer_utils
        from keras.applications.imagenet_utils import decode_predictions
    """)
    assert text == textwrap.dedent("""\
        from __future__ import print_function
        import slimcompat.keras2
        from keras.layers import Dense
        from keras.layers import Flatten
        from keras.utils import to_categorical
        from keras.utils import get_source_inputs
        from keras import Model as Network
        from keras.utils import layer_utils
        from keras.applications.imagenet_utils import decode_predictions
    """)
    warnings = [message for level, _, message in logs if level == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("keras.utils.layer_utils: Keras 3 lacks it")
    assert migrate.migrate_source(text)[0] == text


def test_every_keras3_home_in_the_table_exists():
    for module, row in LEGACY.items():
        for attr, (_, new) in row.names.items():
            assert keras3_home(module, attr) == new
            parent, _, name = new.rpartition(".")
            assert hasattr(__import__(parent, fromlist=[name]), name), new
        for source in row.keras3:
            __import__(source)


def test_training_false_inside_call_is_warned_not_rewritten():
    source = """\
        import tensorflow as tf
        class Block(tf.keras.Model):
            def call(self, x):
                return self.bn(self.conv(x), training=False)
            def other(self, x):
                return self.bn(x, training=False)
    """
    text, logs = _migrate(source)
    assert text == textwrap.dedent(source)
    assert [(level, line) for level, line, _ in logs] == [("WARNING", 4)]
    assert "training=False is hard-coded inside Block.call()" in logs[0][2]


@pytest.mark.parametrize("source, graph_mode", [
    ("import tensorflow as tf\nx = tf.placeholder(tf.float32)\n", True),
    ("import tensorflow as tf\nconfig = tf.compat.v1.ConfigProto()\nm = tf.keras.Sequential()\n", False),
])
def test_graph_mode_is_added_to_tf1_files_only(source, graph_mode):
    text, _ = migrate.migrate_source(source)
    assert ("disable_v2_behavior()" in text) is graph_mode and "import slimcompat" not in text


GRAPH_TENSOR_PROGRAM = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers
x = np.random.RandomState(0).rand(64, 4).astype('float32')
y = x.sum(axis=1, keepdims=True)
dataset = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(16)
inputs, targets = dataset.make_one_shot_iterator().get_next()
model_input = layers.Input(tensor=inputs)
model = keras.models.Model(inputs=model_input, outputs=layers.Dense(1)(model_input))
model.compile(keras.optimizers.SGD(lr=0.01), 'mse', target_tensors=[targets])
history = model.fit(epochs=2, steps_per_epoch=4, verbose=0)
print('losses', len(history.history['loss']))
"""


@pytest.mark.slow
def test_a_file_keras3_cannot_run_keeps_keras2_through_tf_keras(tmp_path):
    """Input(tensor=) and target_tensors have no Keras 3 spelling: the file's Keras imports go to tf-keras
    (and no Keras 3 rewrite or `import keras` is added), and the migrated file trains with plain python."""
    from conftest import run_python
    text, logs = migrate.migrate_source(GRAPH_TENSOR_PROGRAM)
    assert "import tf_keras as keras\nfrom tf_keras import layers\n" in text
    assert "\nimport keras\n" not in text and "learning_rate=0.01" in text
    assert any("Keras 3 cannot run compile(target_tensors=...) (line 11)" in m for _, _, _, m in logs)
    (tmp_path / "prog.py").write_text(text)
    assert run_python(tmp_path / "prog.py", cwd=tmp_path).stdout.strip().splitlines()[-1] == "losses 2"


def test_a_kept_file_that_imports_tensorflow_sets_legacy_keras_before_it():
    """tf.keras, and the premade estimators and feature columns built on it, are tf-keras only if
    TF_USE_LEGACY_KERAS is set before TensorFlow is imported: the kept file sets it, first, and says why."""
    from slimcompat.migrate.keras2_kept import LEGACY_KERAS_LINE
    source = textwrap.dedent('''\
        """Doc."""
        import numpy as np
        import tensorflow as tf
        columns = [tf.feature_column.numeric_column('x', shape=[3])]
        classifier = tf.estimator.LinearRegressor(feature_columns=columns)
        opt = tf.keras.optimizers.SGD(lr=0.1, decay=1e-3)
    ''')
    text, logs = _migrate(source)
    head = text.split("import tensorflow as tf")[0]
    assert head.endswith(f"import numpy as np\nimport os\n{LEGACY_KERAS_LINE}\nimport slimcompat\n"), text
    assert [m for level, _, m in logs if level == "INFO" and "TF_USE_LEGACY_KERAS" in m
            and "tf.feature_column.numeric_column (line 4)" in m]
    assert "tf.keras.optimizers.legacy.SGD(learning_rate=0.1, decay=1e-3)" in text   # Keras 2's decay, kept
    assert migrate.migrate_source(text)[0] == text


def test_a_kept_file_without_tensorflow_gets_no_environment_line():
    text, _ = _migrate("""
        import keras
        from keras import backend as K
        grads = K.gradients(loss, weights)
    """)
    assert "import tf_keras as keras" in text and "TF_USE_LEGACY_KERAS" not in text


@pytest.mark.parametrize("built_first, kept", [(False, True), (None, False)])
def test_a_checkpoint_restored_into_a_subclassed_tf_keras_model_keeps_keras2(built_first, kept):
    """Keras 3 restores no variable a model makes after tf.train.Checkpoint.restore(), and era code restored
    subclassed models before their first call; a file without a subclass keeps Keras 3."""
    base = "tf.keras.Model" if built_first is False else "object"
    text, logs = _migrate(f"""
        import tensorflow as tf
        class Net({base}):
            pass
        net = Net()
        ckpt = tf.train.Checkpoint(net=net)
        ckpt.restore(tf.train.latest_checkpoint('ckpts'))
    """)
    assert ("TF_USE_LEGACY_KERAS" in text) is kept
    assert any("Checkpoint.restore() of a subclassed tf.keras model (line 7)" in m for _, _, m in logs) is kept


EPOCH_TEMPLATE = """\
import os
import tensorflow as tf
checkpoint_path = "training_2/cp-{epoch:04d}.ckpt"
checkpoint_dir = os.path.dirname(checkpoint_path)
model.save_weights(checkpoint_path.format(epoch=0))
latest = tf.train.latest_checkpoint(checkpoint_dir)
model.load_weights(latest)
model.save_weights('./checkpoints/my_checkpoint')
model.load_weights('./checkpoints/my_checkpoint')
"""


def test_tf_format_checkpoint_habits_keep_working_after_migrate(tmp_path, monkeypatch):
    """TF-format saves made their folder and took any name, `tf.train.latest_checkpoint` found the last one,
    and a load named the prefix the save used: the migrated file does all of that with `.weights.h5` files."""
    import numpy as np
    text, logs = _migrate(EPOCH_TEMPLATE)
    assert "slimcompat.keras2.save_weights(model, checkpoint_path.format(epoch=0))" in text
    assert "latest = slimcompat.keras2.latest_checkpoint(checkpoint_dir)" in text
    assert "slimcompat.keras2.save_weights(model, './checkpoints/my_checkpoint.weights.h5')" in text  # TF format
    assert "slimcompat.keras2.load_weights(model, './checkpoints/my_checkpoint')" in text
    assert not [m for level, _, m in logs if level == "WARNING"]
    monkeypatch.chdir(tmp_path)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    saved = [w.copy() for w in model.get_weights()]
    namespace = {"model": model, "__name__": "__main__"}
    exec(compile(text, "<migrated>", "exec"), namespace)
    assert namespace["latest"] == os.path.join("training_2", "cp-0000.weights.h5")
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["my_checkpoint.weights.h5"]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), saved))


def test_latest_checkpoint_is_the_newest_weights_file_else_tensorflows(tmp_path):
    from slimcompat.keras2 import latest_checkpoint
    assert latest_checkpoint(tmp_path) is None
    for epoch, when in ((2, 100), (4, 200), (3, 150)):
        path = tmp_path / f"cp-{epoch:04d}.weights.h5"
        path.write_bytes(b"")
        os.utime(path, (when, when))
    assert latest_checkpoint(tmp_path) == str(tmp_path / "cp-0004.weights.h5")


def test_keras3_python_ints_table_matches_the_libraries():
    """Each listed argument sits at the listed position in both libraries, and Keras 3 refuses a NumPy integer
    there (when constructed, or for recurrent units when first called on a Keras tensor)."""
    import numpy as np
    from slimcompat.keras2.modules import KERAS3_PYTHON_INTS
    for layer, arguments in KERAS3_PYTHON_INTS.items():
        for lib in (keras, tf_keras):
            names = list(inspect.signature(getattr(lib.layers, layer)).parameters)
            assert all(names[position] == argument for argument, position in arguments.items()), (lib, layer)
        parameters = inspect.signature(getattr(keras.layers, layer)).parameters.values()
        required = {p.name: 2 for p in parameters if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD}
        for argument in arguments:
            with pytest.raises((TypeError, ValueError)):
                made = getattr(keras.layers, layer)(**{**required, argument: np.int64(2)})
                made = keras.layers.RNN(made) if layer.endswith("Cell") else made
                made(keras.Input((3, 2)))


NUMPY_SIZES = """\
import numpy as np
from keras.models import Sequential
from keras.layers import Dense, Embedding, LSTM
x_train = np.array(sequences)
num_classes = np.max(y_train) + 1
vocab = x_train.max() + 1
hidden = 8
width = np.unique(y_train).size

def create_network(num_classes=1, units=3):
    model = Sequential()
    model.add(Embedding(vocab, hidden))
    model.add(LSTM(units=hidden))
    model.add(Dense(width))
    model.add(Dense(num_classes))
    return model

model = create_network(num_classes=num_classes)
"""


def test_numpy_layer_sizes_become_python_ints():
    """Keras 2 examples size the last layer `np.max(y_train) + 1`, a NumPy integer Keras 3 refuses: what the
    source shows can be one gets `int(...)`, literals and names bound to them stay, and the model builds."""
    import numpy as np
    data = {"sequences": [[3, 1], [4, 0]], "y_train": np.array([0, 2, 1])}
    with pytest.raises(ValueError, match="input_dim"):
        exec(compile(NUMPY_SIZES, "<original>", "exec"), dict(data))
    text, logs = _migrate(NUMPY_SIZES)
    assert "model.add(Dense(int(num_classes)))" in text and "Embedding(int(vocab), hidden)" in text
    assert "LSTM(units=hidden)" in text and "Dense(width)" in text
    infos = {line: m for level, line, m in logs if level == "INFO" and "Python int" in m}
    assert sorted(infos) == [12, 15]
    assert "line 5 to np.max(y_train) + 1" in infos[15] and "create_network() is passed num_classes" in infos[15]
    assert "line 6 to x_train.max() + 1" in infos[12]
    assert migrate.migrate_source(text)[0] == text
    namespace = dict(data)
    exec(compile(text, "<migrated>", "exec"), namespace)
    assert namespace["model"].layers[-1].units == 3


STATEFUL = """\
from keras.models import Sequential
from keras.layers import Dense, LSTM
batch_size = 2
lahead = 3

def create_model(stateful):
    model = Sequential()
    model.add(LSTM(20,
                   input_shape=(lahead, 1),
                   batch_size=batch_size,
                   stateful=stateful))
    model.add(Dense(1, batch_size=batch_size))
    return model

model = create_model(stateful=True)
"""


def test_a_layers_batch_size_becomes_an_input_batch_shape_and_says_keras2_to_run():
    """Keras 2's `batch_size=` beside `input_shape=` fixed the batch of a Sequential's first layer (stateful RNNs
    need it); Keras 3 layers refuse it and take a fixed batch only from an Input layer."""
    import ast
    from slimcompat.legacy.program import analyse_tree
    version, evidence = analyse_tree(ast.parse(STATEFUL)).keras_version()
    assert version == "2" and "LSTM(batch_size=...)" in str(evidence)
    text, logs = _migrate(STATEFUL)
    assert "import keras\n" in text
    assert "    model.add(keras.Input(batch_shape=(batch_size, lahead, 1)))\n    model.add(LSTM(20,\n" in text
    assert "stateful=stateful))\n    model.add(Dense(1))\n" in text
    assert [line for level, line, m in logs if level == "INFO" and "Input(batch_shape=" in m] == [8]
    assert migrate.migrate_source(text)[0] == text
    namespace = {}
    exec(compile(text, "<migrated>", "exec"), namespace)
    assert namespace["model"].input_shape == (2, 3, 1) and namespace["model"].layers[0].stateful


@pytest.mark.parametrize("source, expected", [
    ("m = Sequential([GRU(4, batch_input_shape=(2, 3, 1)), Dense(1)])",
     "m = Sequential([keras.Input(batch_shape=(2, 3, 1)), GRU(4), Dense(1)])"),
    ("m = Sequential([Dense(2, input_dim=5, batch_size=7)])",
     "m = Sequential([keras.Input(batch_shape=(7, 5)), Dense(2)])"),
    ("y = Dense(2, batch_size=4, input_shape=(3,))(x)", "y = Dense(2, input_shape=(3,))(x)"),
    ("layer = GRU(4, batch_size=4)", "layer = GRU(4)"),
])
def test_batch_shapes_in_other_places(source, expected):
    text, logs = _migrate("import keras\nfrom keras.layers import Dense, GRU\nfrom keras.models import Sequential\n"
                          + source + "\n")
    assert text.splitlines()[-1] == expected
    assert not [m for level, _, m in logs if level == "WARNING"]


def test_input_layers_batch_size_is_keras3s_too():
    import ast
    from slimcompat.legacy.program import analyse_tree
    source = "from keras.layers import Input\nx = Input(shape=(3,), batch_size=4)\n"
    assert migrate.migrate_source(source) == (source, [])
    assert "batch_size" not in str(analyse_tree(ast.parse(source)).keras2)
