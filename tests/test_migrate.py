"""`slimcompat migrate`: TF1 sources rewritten once run with plain python on TF 2.x."""

import argparse
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import EXAMPLE, HANG
from slimcompat import migrate

FLAGS = ["--batch_size", "2", "--image_size", "32", "--num_batches", "0", "--seed", "3"]
LAUNCHER = ("import sys; from slimcompat.legacy.launcher import run_script; "
            "run_script(sys.argv[1], sys.argv[2:])")


def _start(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=HANG):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.args}\n{out[-2000:]}\n{err[-4000:]}"
    return out


def _run_cli(argv, capsys):
    parser = argparse.ArgumentParser(prog="slimcompat migrate")
    migrate.add_arguments(parser)
    code = migrate.run(parser.parse_args([str(a) for a in argv]))
    return code, capsys.readouterr().out


def _snapshot(root):
    return {os.path.relpath(os.path.join(d, f), root): open(os.path.join(d, f), "rb").read()
            for d, _, files in os.walk(root) for f in files}


@pytest.fixture(scope="module")
def migrated_example(module_tmp):
    """The example migrated into out/, next to an untouched copy of the original."""
    root = module_tmp("example")
    original = root / "src" / "legacy_resnet_v2.py"
    original.parent.mkdir()
    shutil.copy(EXAMPLE, original)
    report = migrate.migrate_paths([original.parent], output_dir=root / "out")
    return root, original, root / "out" / "legacy_resnet_v2.py", report


@pytest.mark.slow   # over 5 s: default tier, not quick
def test_migrated_example_runs_with_plain_python_bit_identical(migrated_example):
    root, original, migrated, report = migrated_example
    assert report.errors == [] and len(report.changes) >= 10
    text = migrated.read_text()
    assert "contrib" not in text and "keras" not in text
    assert text.count("import slimcompat") == 1 and text.count("disable_v2_behavior()") == 1
    assert text.index("import slimcompat") < text.index("import tf_slim as slim")
    new = _start(migrated, *FLAGS, "--save_logits", "new.npy", cwd=root)
    old = _start("-c", LAUNCHER, original, *FLAGS, "--save_logits", "old.npy", cwd=root)
    _finish(new), _finish(old)
    new_logits, old_logits = np.load(root / "new.npy"), np.load(root / "old.npy")
    assert new_logits.shape == (2, 1000) and np.isfinite(new_logits).all()
    assert new_logits.dtype == old_logits.dtype and new_logits.tobytes() == old_logits.tobytes()


def test_migrating_migrated_output_changes_nothing(migrated_example, capsys):
    root, _, migrated, _ = migrated_example
    before = _snapshot(root / "out")
    code, out = _run_cli([root / "out"], capsys)
    assert code == 0 and _snapshot(root / "out") == before
    assert "0 changed" in out and "0 change(s)" in out and ": INFO:" not in out
    assert not os.path.exists(str(migrated) + ".tf1.bak")


def test_in_place_keeps_backup_of_original_and_never_overwrites_it(tmp_path, capsys):
    script = tmp_path / "model.py"
    shutil.copy(EXAMPLE, script)
    original = script.read_bytes()
    code, out = _run_cli([script], capsys)
    backup = tmp_path / "model.py.tf1.bak"
    assert code == 0 and "migrated in place" in out
    assert backup.read_bytes() == original and script.read_bytes() != original
    assert f"{script}:24:0: INFO: Changed import 'import tensorflow.contrib.slim as slim' " \
           "to 'import tf_slim as slim'" in out
    script.write_bytes(original)
    backup.write_bytes(b"# an older backup\n")
    assert _run_cli([script], capsys)[0] == 0
    assert backup.read_bytes() == b"# an older backup\n" and b"tf_slim" in script.read_bytes()


def test_output_dir_mirrors_tree_and_leaves_originals_alone(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "nets").mkdir(parents=True)
    shutil.copy(EXAMPLE, src / "nets" / "resnet.py")
    (src / "train.py").write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32)\n")
    (src / "nets" / "README.txt").write_text("not python\n")
    before = _snapshot(src)
    stats = {p: os.stat(src / p).st_mtime_ns for p in before}
    code, out = _run_cli([src, "--output", tmp_path / "out"], capsys)
    assert code == 0
    assert _snapshot(src) == before and {p: os.stat(src / p).st_mtime_ns for p in before} == stats
    assert not any(name.endswith(".tf1.bak") for name in _snapshot(src))
    after = _snapshot(tmp_path / "out")
    assert sorted(after) == sorted(before)
    assert after[os.path.join("nets", "README.txt")] == b"not python\n"
    assert b"tf.compat.v1.placeholder" in after["train.py"]


def test_unparseable_file_one_line_error_nonzero_exit_untouched(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import tensorflow as tf\nprint 'TF1 era'\n")
    good = tmp_path / "good.py"
    good.write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32)\n")
    code, out = _run_cli([tmp_path], capsys)
    assert code == 1
    lines = [line for line in out.splitlines() if "bad.py" in line]
    assert len(lines) == 1 and lines[0].startswith(f"{bad}:2:")
    assert ": ERROR: cannot parse" in lines[0]
    assert bad.read_text() == "import tensorflow as tf\nprint 'TF1 era'\n"
    assert not (tmp_path / "bad.py.tf1.bak").exists()
    assert "tf.compat.v1.placeholder" in good.read_text()


def test_uncovered_contrib_module_is_reported_as_error(tmp_path, capsys):
    script = tmp_path / "rnn_model.py"
    script.write_text(textwrap.dedent("""\
        import tensorflow as tf
        import tensorflow.contrib.rnn as rnn
        import tensorflow.contrib.slim as slim
        decoder = tf.contrib.seq2seq.BasicDecoder
    """))
    code, out = _run_cli([script, "--output", tmp_path / "out"], capsys)
    assert code == 1
    errors = [line for line in out.splitlines() if ": ERROR: " in line]
    assert len(errors) == 2
    assert errors[0].startswith(f"{script}:2:0: ERROR: tensorflow.contrib.rnn: ")
    assert errors[1].startswith(f"{script}:4:") and "tensorflow.contrib.seq2seq:" in errors[1]
    migrated = (tmp_path / "out" / "rnn_model.py").read_text()
    assert "import tensorflow.contrib.rnn as rnn" in migrated
    assert "import tf_slim as slim" in migrated


REGULARIZED = textwrap.dedent("""\
    import sys
    import numpy as np
    import tensorflow as tf
    import tensorflow.contrib.slim as slim

    tf.set_random_seed(1)
    x = tf.ones([1, 4, 4, 3])
    with slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(0.1),
                        weights_initializer=slim.variance_scaling_initializer()):
        a = slim.conv2d(x, 2, [3, 3], scope='a')
    b = slim.conv2d(x, 2, [3, 3], scope='b',
                    weights_regularizer=tf.contrib.layers.l2_regularizer(scale=0.2, scope='r'),
                    weights_initializer=tf.contrib.layers.xavier_initializer())
    c = slim.fully_connected(tf.ones([1, 3]), 2, scope='c',
                             weights_regularizer=tf.contrib.layers.l1_regularizer(0.3),
                             weights_initializer=tf.contrib.layers.variance_scaling_initializer(
                                 factor=1.0, mode='FAN_AVG', uniform=True))
    losses = tf.losses.get_regularization_losses()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = sess.run(slim.get_model_variables() + losses)
    np.savez(sys.argv[1], *values)
""")


@pytest.mark.slow   # over 5 s: default tier, not quick
def test_slim_regularizers_and_initializers_stay_tf_slim(tmp_path):
    from tensorflow.tools.compatibility import ast_edits, tf_upgrade_v2
    tf_only = ast_edits.ASTCodeUpgrader(tf_upgrade_v2.TFAPIChangeSpec())
    _, tf_text, _, _ = tf_only.update_string_pasta(REGULARIZED, "x.py")
    assert "tf.keras.regularizers.l2(0.5 * (0.1))" in tf_text
    assert "keras.initializers.VarianceScaling" in tf_text

    text, _ = migrate.migrate_source(REGULARIZED)
    assert "keras" not in text
    assert "slim.l2_regularizer(0.1)" in text and "slim.variance_scaling_initializer()" in text
    assert "tf_slim.l2_regularizer(scale=0.2, scope='r')" in text
    assert "tf_slim.xavier_initializer()" in text and "tf_slim.l1_regularizer(0.3)" in text
    upgraded, _ = migrate.migrate_source(
        "import tensorflow as tf\nimport tf_slim as slim\n"
        "r = tf.keras.regularizers.l2(0.5 * (wd))\ns = tf.keras.regularizers.l2(l=0.3)\n")
    assert "r = tf_slim.l2_regularizer(wd)\n" in upgraded
    assert "s = tf_slim.l2_regularizer(2.0 * (0.3))\n" in upgraded

    (tmp_path / "original.py").write_text(REGULARIZED)
    (tmp_path / "migrated.py").write_text(text)
    new = _start("migrated.py", "new.npz", cwd=tmp_path)
    old = _start("-c", LAUNCHER, "original.py", "old.npz", cwd=tmp_path)
    _finish(new), _finish(old)
    new_values, old_values = np.load(tmp_path / "new.npz"), np.load(tmp_path / "old.npz")
    assert len(new_values.files) == len(old_values.files) == 9
    for key in new_values.files:
        assert new_values[key].tobytes() == old_values[key].tobytes(), key
    a_weights, a_loss = new_values["arr_0"], new_values["arr_6"]
    assert np.isclose(a_loss, 0.1 * np.sum(a_weights.astype(np.float64) ** 2) / 2, rtol=1e-5)


def test_adds_imports_and_graph_mode_once_with_the_files_own_names():
    text, logs = migrate.migrate_source(textwrap.dedent("""\
        \"\"\"Doc.\"\"\"
        import tensorflow as tfx

        net = tfx.contrib.slim.conv2d
        scope = tfx.contrib.framework.arg_scope
    """))
    assert text == textwrap.dedent("""\
        \"\"\"Doc.\"\"\"
        import tensorflow as tfx
        import slimcompat  # repairs tf_slim for TF 2.x
        import tf_slim
        tfx.compat.v1.disable_v2_behavior()

        net = tf_slim.conv2d
        scope = tf_slim.arg_scope
    """)
    assert [log[0] for log in logs].count("INFO") == 5
    assert migrate.migrate_source(text) == (text, [])
    v1_text, _ = migrate.migrate_source("import tensorflow.compat.v1 as tf\nx = tf.placeholder(tf.float32)\n")
    assert v1_text == ("import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\n"
                       "x = tf.placeholder(tf.float32)\n")
