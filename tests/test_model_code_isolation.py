"""What `--model PATH.py:NAME` runs of the user's program: what building the model needs, and nothing else.

Each program is a tiny Keras model (a Dense layer or two on an 8-wide input)
inside a program that also loads data, trains, saves and plots; the parts that
must not run leave a marker file beside the program (`ran_*`), so a test sees
exactly what ran. The programs say `tf.keras`, so they get Keras 2 (tf-keras).
"""

import sys
import textwrap

import pytest

from slimcompat.cli.main import main
from slimcompat.errors import SlimcompatError
from slimcompat.structure.model_code import load_model, load_namespace

_MARK = "import pathlib\n\ndef mark(what):\n    pathlib.Path(__file__).with_name('ran_' + what).write_text(what)\n"


def _program(folder, name, text, head=""):
    path = folder / name
    path.write_text(head + textwrap.dedent(text))
    return path


def _ran(folder):
    return sorted(p.name[4:] for p in folder.glob("ran_*"))


def _width(model):
    return int(model.output_shape[-1])


def test_statements_only_the_training_reads_do_not_run(tmp_path):
    """`data = load()` and `history = train(model)` bind names only functions outside the construction read."""
    path = _program(tmp_path, "net.py", """
        import tensorflow as tf

        CONFIG = {"width": 6}
        WIDTH = CONFIG["width"] + 1

        def build(classes=3):
            inputs = tf.keras.Input((8,))
            x = tf.keras.layers.Dense(WIDTH, activation="relu")(inputs)
            return tf.keras.Model(inputs, tf.keras.layers.Dense(classes)(x))

        def load():
            mark("load")
            return tf.zeros((4, 8)), tf.zeros((4, 3))

        def train(model):
            mark("train")
            model.compile("adam", "mse")
            return model.fit(*data, epochs=1, verbose=0)

        def report():
            mark("report")
            print(history.history)

        data = load()
        model = build()
        model.summary()
        history = train(model)
        report()

        stacked = tf.keras.Sequential([tf.keras.Input((8,))])
        stacked.add(tf.keras.layers.Dense(WIDTH))
        stacked.compile("adam", "mse")
        train(stacked)
        """, head=_MARK)
    by_call = load_model(f"{path}:build(classes=5)")
    assert _width(by_call) == 5 and by_call.layers[1].units == 7      # WIDTH's statements did run
    assert _width(load_model(f"{path}:model")) == 3
    assert _ran(tmp_path) == []
    assert _width(load_model(f"{path}:stacked")) == 7                  # `stacked.add(...)` builds it
    assert _ran(tmp_path) == []


def test_a_with_block_is_entered_for_the_construction_alone(tmp_path):
    """`with strategy.scope(): model = build(); train(model)`: the scope is entered, the training skipped."""
    path = _program(tmp_path, "net.py", """
        import tensorflow as tf

        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")

        def build():
            if not tf.distribute.has_strategy():
                raise RuntimeError("built outside strategy.scope()")
            inputs = tf.keras.Input((8,))
            return tf.keras.Model(inputs, tf.keras.layers.Dense(4)(inputs))

        def train(model):
            mark("train")

        with strategy.scope():
            model = build()
            model.compile("adam", "mse")
            train(model)
            history = model.fit(tf.zeros((4, 8)), tf.zeros((4, 4)), epochs=1, verbose=0)
            mark("fit")
        mark("after")
        """, head=_MARK)
    assert _width(load_model(f"{path}:model")) == 4
    assert _ran(tmp_path) == []


def test_files_beside_the_code_run_only_what_the_model_takes_from_them(tmp_path):
    """`from blocks import dense` and `import heads` (`heads.head(x)`) load those two functions, not the rest."""
    _program(tmp_path, "blocks.py", """
        from tensorflow.keras import layers

        UNITS = 6

        def dense(x):
            return layers.Dense(UNITS, activation="relu")(x)

        def load():
            mark("blocks_load")

        data = load()
        mark("blocks_top")
        """, head=_MARK)
    _program(tmp_path, "heads.py", """
        from tensorflow.keras import layers

        def head(x, classes):
            return layers.Dense(classes)(x)

        def plot(history):
            mark("heads_plot")

        figure = plot(None)
        """, head=_MARK)
    path = _program(tmp_path, "net.py", """
        import tensorflow as tf
        import heads
        from blocks import dense

        def build(classes=3):
            inputs = tf.keras.Input((8,))
            return tf.keras.Model(inputs, heads.head(dense(inputs), classes))
        """)
    model = load_model(f"{path}:build(classes=2)")
    assert _width(model) == 2 and model.layers[1].units == 6
    assert _ran(tmp_path) == []


def test_the_code_sees_its_own_argv_and_ours_comes_back(tmp_path, monkeypatch):
    """A top-level `parse_args()` parses `[path]`, not slimcompat's command line."""
    path = _program(tmp_path, "net.py", """
        import argparse
        import sys
        import tensorflow as tf

        parser = argparse.ArgumentParser()
        parser.add_argument("--classes", type=int, default=3)
        args = parser.parse_args()
        if sys.argv != [__file__]:
            raise RuntimeError(f"argv {sys.argv}")

        def build():
            inputs = tf.keras.Input((8,))
            return tf.keras.Model(inputs, tf.keras.layers.Dense(args.classes)(inputs))
        """)
    ours = ["slimcompat", "diff", f"{path}:build", "resnet18", "--keras", "2"]
    monkeypatch.setattr(sys, "argv", list(ours))
    assert _width(load_model(f"{path}:build")) == 3
    assert sys.argv == ours
    namespace = load_namespace(path, needed={"args"})
    assert namespace["args"].classes == 3 and sys.argv == ours


_STOPS = {
    "exit": ("import sys\n\ndef configure():\n    sys.exit(3)\n", "SystemExit 3", 2),
    "interrupt": ("def configure():\n    raise KeyboardInterrupt\n", "KeyboardInterrupt", 130),
}


@pytest.mark.parametrize("kind", sorted(_STOPS))
def test_an_exit_or_interrupt_in_the_code_is_one_line_naming_where(kind, tmp_path, capsys):
    """`sys.exit(3)` ends the command with 2, an interrupt with 130; either says which line of the code did it."""
    stop, words, status = _STOPS[kind]
    path = _program(tmp_path, "net.py", """
        import tensorflow as tf

        settings = configure()

        def build():
            inputs = tf.keras.Input((8,))
            return tf.keras.Model(inputs, tf.keras.layers.Dense(settings)(inputs))
        """, head=stop)
    line = path.read_text().splitlines().index(stop.splitlines()[-1]) + 1
    argv = ["diff", f"{path}:build", "resnet18", "--keras", "2"]
    try:
        rc = main(argv)
    except (KeyboardInterrupt, SystemExit):
        pytest.fail("the code's KeyboardInterrupt escaped slimcompat")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == status
    assert err == [err[0]] and err[0].startswith("slimcompat: error: ") and f"{path}:{line}:" in err[0]
    assert words in err[0]
    with pytest.raises(SlimcompatError, match=f"{path.name}:{line}: "):
        load_model(f"{path}:build")


def test_models_found_by_name_are_defined(tmp_path):
    """A registry filled by a decorator, and a `globals()[name]` lookup, find definitions nothing names."""
    path = _program(tmp_path, "net.py", """
        import tensorflow as tf

        MODELS = {}

        def register(build):
            MODELS[build.__name__] = build
            return build

        @register
        def tiny(classes):
            inputs = tf.keras.Input((8,))
            return tf.keras.Model(inputs, tf.keras.layers.Dense(classes)(inputs))

        def wide(classes):
            inputs = tf.keras.Input((8,))
            return tf.keras.Model(inputs, tf.keras.layers.Dense(classes * 2)(inputs))

        def registered(name, classes=3):
            return MODELS[name](classes)

        def by_name(name, classes=3):
            return globals()[name](classes)

        history = mark("train")
        """, head=_MARK)
    assert _width(load_model(f"{path}:registered('tiny')")) == 3
    assert _width(load_model(f"{path}:by_name('wide', classes=2)")) == 4
    assert _ran(tmp_path) == []
