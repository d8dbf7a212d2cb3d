"""What `slimcompat run` decides from a program's source, who gets the v1 API, and what importing costs."""

import textwrap

import pytest

from conftest import run_python, slimcompat
from slimcompat.legacy.program import analyse

pytestmark = pytest.mark.slow  # each test starts programs under run: default tier, not quick


def _program(write, source, name="main.py"):
    return analyse(write(name, textwrap.dedent(source)))


@pytest.mark.parametrize("source, construct", [
    ("import tensorflow as tf\nsess = tf.Session()\n", "tf.Session"),
    ("import tensorflow as tf\nx = tf.train.Saver\n", "tf.train.Saver"),
    ("import tensorflow as tf\nassert hasattr(tf, 'placeholder')\n", "tf.placeholder"),
    ("import tensorflow.compat.v1 as tf\nx = tf.placeholder(tf.float32)\n", "tf.placeholder"),
    ("from tensorflow.contrib import quantize\n", "from tensorflow.contrib import quantize"),
    ("import tf_slim as slim\n", "import tf_slim"),
])
def test_tf1_code_is_recognised_by_what_tf2_lacks(write, source, construct):
    found = _program(write, source).tf1()
    assert found and found[0].construct == construct and str(found[0]).startswith(f"{construct} at main.py:")


@pytest.mark.parametrize("source", [
    # A TF 2 program: tf.function, tf.keras, and the GPU-memory lines TF2 users copied from TF1.
    """import tensorflow as tf
    config = tf.compat.v1.ConfigProto()
    session = tf.compat.v1.Session(config=config)
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2)])
    f = tf.function(lambda x: tf.nn.relu(x))
    """,
    "import numpy as np\nprint(np.ones(2))\n",
])
def test_tf2_code_has_no_tf1_evidence(write, source):
    assert _program(write, source).tf1() == []


def test_local_modules_are_read_too(write):
    write("nets/model.py", "import tensorflow as tf\n\ndef net(x):\n    return tf.layers.dense(x, 2)\n")
    found = _program(write, "from nets import model\nmodel.net(None)\n").tf1()
    assert [str(e) for e in found] == ["tf.layers.dense at model.py:4"]


@pytest.mark.parametrize("source, keras, construct", [
    ("from keras.engine.topology import get_source_inputs\n", "2", "from keras.engine.topology import"),
    ("import tensorflow as tf\nm = tf.keras.Sequential()\n", "2", "tf.keras.Sequential"),
    ("import tensorflow as tf\nx = tf.keras.layers.AveragePooling2D()\n", "2", "AveragePooling2D() without pool_size"),
    ("p = 'w.ckpt'\nmodel.save_weights(p)\n", "2", "save_weights('w.ckpt')"),
    ("model.fit_generator(gen)\n", "2", ".fit_generator()"),
    ("import keras\ny = keras.ops.relu(1.0)\n", "3", "keras.ops.relu"),
    ("import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.save_weights('w.weights.h5')\n", "3",
     "save_weights('w.weights.h5')"),
    ("import keras\nlayer = keras.layers.Dense(2)\n", "2", "import keras and nothing of Keras 3"),
    ("import tensorflow as tf\nx = tf.constant(1.0)\n", "3", None),
])
def test_keras_version_from_the_source(write, source, keras, construct):
    version, evidence = _program(write, source).keras_version()
    assert version == keras
    assert (evidence is None) if construct is None else evidence.construct.startswith(construct)


KERAS3_EAGER = textwrap.dedent("""
    import numpy as np, tensorflow as tf, keras
    x = keras.ops.convert_to_tensor(np.ones((2, 3), np.float32))
    layer = keras.layers.Dense(2)
    print('eager', tf.executing_eagerly(), type(layer).__module__.split('.')[0], float(tf.reduce_sum(x).numpy()))
""")


def test_a_working_tf2_program_stays_eager_on_keras3(write):
    out = slimcompat("run", write("modern.py", KERAS3_EAGER))
    assert "eager True keras 6.0" in out.stdout
    banner = [line for line in out.stderr.splitlines() if line.startswith("slimcompat run:")]
    assert len(banner) == 1 and banner[0].startswith("slimcompat run: TF2, eager (no TF1-only API in modern.py); Keras 3")
    assert banner[0].endswith("(keras.ops.convert_to_tensor at modern.py:3)")


def test_options_override_each_choice_and_verbose_says_why(write):
    script = write("choose.py", textwrap.dedent("""
        import tensorflow as tf, keras
        print('v1', hasattr(tf, 'Session'), 'eager', tf.executing_eagerly(), keras.__name__, keras.__version__)
    """))
    out = slimcompat("run", "--tf", "1", "--keras", "2", "--verbose", script)
    assert "v1 True eager False" in out.stdout and "2.21" in out.stdout.split()[-1]
    assert "TF1 API in graph mode (chosen by --tf or SLIMCOMPAT_TF)" in out.stderr
    assert "slimcompat run:   analysed: " in out.stderr and "v1 API for: CodePolicy(" in out.stderr
    env = slimcompat("run", script, env={"SLIMCOMPAT_KERAS": "2"})
    assert "keras 2.21" in env.stdout
    bad = slimcompat("run", "--keras", "4", script, check=False)
    assert bad.returncode == 1 and "--keras 4: expected one of 2, 3" in bad.stderr
    unknown = slimcompat("run", "--kerass", "2", script, check=False)
    assert unknown.returncode == 2 and "unknown option --kerass" in unknown.stderr


# ---------------------------------------------------------------- who gets the v1 API

TF2_LIBRARY = textwrap.dedent("""
    import tensorflow as tf

    def sees_tf2():
        return hasattr(tf, 'function') and not hasattr(tf, 'Session')
""")

TF1_PROGRAM = textwrap.dedent("""
    import tensorflow as tf
    import tf2lib, helper
    x = tf.placeholder(tf.float32, [None, 2])
    print('program v1', hasattr(tf, 'Session'), 'library tf2', tf2lib.sees_tf2(), 'helper tf2', helper.sees_tf2())
""")


def test_installed_code_keeps_tf2_and_overrides_move_code_either_way(write, tmp_path):
    """A v2 library on no list (here one installed outside the program's folder) sees TF 2; the
    program's own files see v1 unless the user says otherwise."""
    write("lib/tf2lib/__init__.py", TF2_LIBRARY)
    write("prog/helper.py", TF2_LIBRARY)
    script = write("prog/main.py", TF1_PROGRAM)
    env = {"PYTHONPATH": f"{tmp_path / 'lib'}:{__import__('os').environ.get('PYTHONPATH', '')}"}
    default = slimcompat("run", script, env=env)
    assert "program v1 True library tf2 True helper tf2 False" in default.stdout
    moved = slimcompat("run", "--v2-code", tmp_path / "prog" / "helper.py", "--v1-code", "tf2lib", script, env=env)
    assert "program v1 True library tf2 False helper tf2 True" in moved.stdout
    by_env = slimcompat("run", script, env={**env, "SLIMCOMPAT_V2_CODE": "helper"})
    assert "helper tf2 True" in by_env.stdout


# ---------------------------------------------------------------- importing, repairs, removed modules

def test_import_slimcompat_then_tensorflow_imports_neither_tf_slim_nor_tf_keras():
    out = run_python("-c", textwrap.dedent("""
        import sys, slimcompat, tensorflow
        print('tf_slim' in sys.modules, 'tf_keras' in sys.modules)
        import tensorflow.compat.v1 as tf, tf_slim as slim
        tf.disable_eager_execution()
        y = slim.batch_norm(tf.placeholder(tf.float32, [2, 4, 4, 3]), is_training=False)
        print('tf_keras' in sys.modules, y.shape)
    """))
    assert out.stdout.split("\n")[:2] == ["False False", "True (2, 4, 4, 3)"]


def test_a_failed_repair_is_reported_once_on_stderr():
    out = run_python("-c", textwrap.dedent("""
        import slimcompat
        from slimcompat.runtime import repairs
        def broken():
            raise RuntimeError('moved again')
        repairs.REPAIRS.append(repairs.Repair('tensorflow.x <- tensorflow.y', 'AttributeError: x', lambda: True, broken))
        import tensorflow
        repairs.apply_loaded(); repairs.apply_all()
        print([state for name, state, _ in repairs.status() if name == 'tensorflow.x <- tensorflow.y'])
    """))
    lines = [line for line in out.stderr.splitlines() if "tensorflow.x <- tensorflow.y" in line]
    assert lines == ["slimcompat: warning: runtime repair tensorflow.x <- tensorflow.y failed "
                     "(RuntimeError: moved again); expect: AttributeError: x"]
    assert "['failed: RuntimeError: moved again']" in out.stdout


def test_contrib_modules_used_behind_a_flag_import_and_fail_when_called(write):
    script = write("flagged.py", textwrap.dedent("""
        import sys
        import tensorflow as tf
        from tensorflow.contrib import quantize as contrib_quantize
        from tensorflow.contrib.tpu.python.tpu import tpu_config
        create = contrib_quantize.experimental_create_training_graph
        print('imported', tf.contrib.cluster_resolver is not None, flush=True)
        if sys.argv[1:] == ['--quantize']:
            create(quant_delay=0)
    """))
    assert "imported True" in slimcompat("run", script).stdout
    out = slimcompat("run", script, "--quantize", check=False)
    errors = [line for line in out.stderr.splitlines() if line.startswith("slimcompat: error:")]
    assert out.returncode == 1 and "Traceback" not in out.stderr and len(errors) == 1
    assert errors[0].startswith("slimcompat: error: tensorflow.contrib.quantize.experimental_create_training_graph: "
                                "removed in TF 2")
