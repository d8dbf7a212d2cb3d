"""`slimcompat run`: TF1 scripts and test modules run unmodified."""

import textwrap

import numpy as np
import pytest

from conftest import EXAMPLE, REPO, run_python, slimcompat

TF1_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    import tensorflow.contrib.slim as slim
    from tensorflow.contrib import slim as slim2
    from tensorflow.contrib.slim.nets import resnet_v1
    from tensorflow.contrib.slim.python.slim.nets import resnet_utils
    from tensorflow.contrib.layers.python.layers import utils
    from tensorflow.contrib.framework import arg_scope, add_arg_scope
    import tensorflow.contrib.layers as layers

    assert slim is slim2 and not tf.executing_eagerly()
    assert tf.contrib.slim.nets.resnet_v2.resnet_v2_50 is slim.nets.resnet_v2.resnet_v2_50
    x = tf.placeholder(tf.float32, [None, 32, 32, 3])
    with arg_scope(resnet_v1.resnet_arg_scope()):
        net, end_points = resnet_v1.resnet_v1_50(x, 7, is_training=False)
    w = tf.get_variable('extra', [3], initializer=tf.contrib.layers.xavier_initializer(),
                        regularizer=layers.l2_regularizer(0.1))
    step = tf.contrib.framework.get_or_create_global_step()
    assert isinstance(resnet_utils.Block, type)
    assert utils.last_dimension(net.get_shape(), min_rank=4) == 7
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run(net, {x: np.ones((2, 32, 32, 3), np.float32)})
    print('OK', out.shape, len(slim.get_model_variables()), sys.argv[1:])
""")


@pytest.mark.slow   # over 5 s: default tier, not quick
def test_tf1_script_runs_unmodified(write):
    script = write("legacy.py", TF1_SCRIPT)
    out = slimcompat("run", script, "--flag", "value")
    assert "OK (2, 1, 1, 7) 267 ['--flag', 'value']" in out.stdout


@pytest.mark.slow
def test_same_script_fails_on_plain_python(write):
    script = write("legacy.py", TF1_SCRIPT)
    out = run_python(script, check=False)
    assert out.returncode != 0 and "tensorflow.contrib" in out.stderr


def test_uncovered_contrib_module_fails_with_one_clear_line(write):
    script = write("rnn.py", "import tensorflow as tf\nimport tensorflow.contrib.rnn as rnn\nprint('unreachable')\n")
    out = slimcompat("run", script, check=False)
    assert out.returncode == 1 and "unreachable" not in out.stdout
    errors = [line for line in out.stderr.splitlines() if "slimcompat: error" in line]
    assert len(errors) == 1 and "tensorflow.contrib.rnn" in errors[0]
    assert "Traceback" not in out.stderr


def test_uncovered_contrib_attribute_names_the_module(write):
    script = write("attr.py", "import tensorflow as tf\ncell = tf.contrib.rnn.LSTMCell(3)\n")
    out = slimcompat("run", script, check=False)
    assert out.returncode == 1 and "tensorflow.contrib.rnn" in out.stderr


@pytest.mark.slow
def test_v2_libraries_still_see_the_v2_api_inside_a_legacy_script(write):
    script = write("mixed.py", textwrap.dedent("""
        import tensorflow as tf
        import keras
        assert hasattr(tf, 'Session') and hasattr(tf, 'placeholder')
        layer = keras.layers.Dense(2)
        print('keras', type(layer).__module__.split('.')[0])
    """))
    assert "keras keras" in slimcompat("run", "--keras", "3", script).stdout   # Keras 3, a v2 library
    assert "keras tf_keras" in slimcompat("run", script).stdout   # standalone keras of the TF1 years: Keras 2


@pytest.mark.slow
def test_run_module_runs_a_legacy_test_suite_under_pytest(write, tmp_path):
    write("test_legacy_model.py", textwrap.dedent("""
        import tensorflow as tf
        import tensorflow.contrib.slim as slim

        class ModelTest(tf.test.TestCase):
            def test_conv_variables(self):
                with tf.Graph().as_default():
                    x = tf.placeholder(tf.float32, [1, 8, 8, 3])
                    slim.conv2d(x, 4, [3, 3], normalizer_fn=slim.batch_norm, scope='c')
                    names = sorted(v.op.name for v in slim.get_model_variables())
                self.assertIn('c/BatchNorm/moving_mean', names)
                self.assertIn('c/weights', names)

            def test_that_fails(self):
                self.assertEqual(1, 2)
    """))
    out = slimcompat("run", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                     tmp_path / "test_legacy_model.py", cwd=tmp_path, check=False)
    assert out.returncode == 1, out.stdout
    assert "1 failed, 1 passed" in out.stdout


@pytest.mark.slow
def test_enable_from_code_without_the_launcher(write):
    script = write("own.py", textwrap.dedent("""
        import slimcompat.legacy
        slimcompat.legacy.enable()
        import tensorflow as tf
        import tensorflow.contrib.slim as slim
        x = tf.placeholder(tf.float32, [1, 4, 4, 2])
        print(slim.conv2d(x, 3, [1, 1]).shape)
    """))
    assert "(1, 4, 4, 3)" in run_python(script).stdout


@pytest.mark.slow
def test_example_program_runs_through_run_and_is_deterministic(tmp_path):
    flags = ["--batch_size=2", "--image_size=32", "--num_batches=2", "--seed=5"]
    slimcompat("run", EXAMPLE, *flags, f"--save_logits={tmp_path / 'a.npy'}")
    out = slimcompat("run", EXAMPLE, *flags, f"--save_logits={tmp_path / 'b.npy'}")
    assert "Forward across 2 steps" in out.stdout and "272 model variables" in out.stdout
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == (2, 1000) and np.array_equal(a, b) and np.std(a) > 0


PROGRAMS = {
    "train_slim.py": ["final loss", "checkpoint True"],
    "contrib_layers.py": ["acc "],
    "eval_restore.py": ["restored 386", "evaluate_once ['accuracy', 'recall_at_2']"],
    "legacy_misc.py": ["[1, 2]", "(?, 32, 32, 4) 2"],
    "model_test.py": ["OK (skipped=1)"],
}


@pytest.mark.programs
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_tf1_programs_run_unmodified(name, tmp_path):
    """slim.learning.train, contrib.layers + optimize_loss, streaming metrics and evaluate_once,
    assign_from_checkpoint_fn, deep contrib import paths, and a tf.test.main() test file."""
    source = REPO / "tests" / "legacy_programs" / name
    (tmp_path / name).write_text(source.read_text())
    out = slimcompat("run", tmp_path / name, cwd=tmp_path)
    text = out.stdout + out.stderr
    for expected in PROGRAMS[name]:
        assert expected in text, text[-3000:]
