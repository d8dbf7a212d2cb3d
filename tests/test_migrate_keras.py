"""`slimcompat migrate` on Keras-era files: leave what runs on Keras 3, rewrite what must change, warn about the rest."""

import inspect
import textwrap

import keras
import pytest
import tf_keras

from slimcompat import migrate
from slimcompat.keras2.modules import KERAS3_REQUIRED, LEGACY, keras3_home


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
        model.save_weights(f'{folder}/epoch_{epoch}.weights.h5')
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
    assert [(level, line) for level, line, _ in logs] == [("WARNING", 2), ("WARNING", 4)]  # sorted
    assert "pairs the file's layers with the model's by order" in logs[0][2]
    assert "weight path is not a literal" in logs[1][2]


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
