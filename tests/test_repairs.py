"""The runtime repairs: feature-detected, idempotent, and enough for tf-slim."""

import json
import textwrap

import pytest

from conftest import run_python, slimcompat

pytestmark = pytest.mark.slow  # fresh interpreters per check: default tier, not quick


def test_import_slimcompat_does_not_import_tensorflow():
    out = run_python("-c", "import sys, slimcompat; print('tensorflow' in sys.modules, 'tf_slim' in sys.modules)")
    assert out.stdout.split() == ["False", "False"]


def test_batch_norm_is_broken_without_and_works_with_slimcompat():
    body = textwrap.dedent("""
        import tensorflow.compat.v1 as tf, tf_slim as slim
        tf.disable_eager_execution()
        x = tf.placeholder(tf.float32, [2, 4, 4, 3])
        y = slim.batch_norm(x, is_training=False)
        print(sorted(v.op.name for v in slim.get_variables()))
    """)
    broken = run_python("-c", body, check=False)
    assert broken.returncode != 0 and "tf_keras.legacy_tf_layers" in broken.stderr
    fixed = run_python("-c", "import slimcompat\n" + body)
    assert "BatchNorm/moving_variance" in fixed.stdout


def test_repairs_apply_when_tensorflow_is_imported_after_slimcompat():
    out = run_python("-c", textwrap.dedent("""
        import slimcompat
        from slimcompat.runtime import status
        before = [s for _, s, _ in status()]
        import tensorflow
        after = [s for _, s, _ in status()]
        import json; print(json.dumps([sorted(set(before)), sorted(set(after))]))
    """))
    before, after = json.loads(out.stdout)
    assert before == ["not needed"]
    assert "applied" in after and not [s for s in after if s.startswith("failed")]


def test_apply_all_is_idempotent_and_every_repair_is_no_longer_needed():
    out = run_python("-c", textwrap.dedent("""
        import tensorflow, tf_slim, tf_keras, slimcompat
        from slimcompat.runtime import REPAIRS, apply_all
        first = [(r.name, r.applied) for r in REPAIRS]
        apply_all(); apply_all()
        second = [(r.name, r.applied) for r in REPAIRS]
        print(first == second, all(not r.needed() for r in REPAIRS), sum(r.applied for r in REPAIRS))
    """))
    same, none_needed, count = out.stdout.split()
    assert same == "True" and none_needed == "True" and int(count) >= 10


def test_moved_symbols_are_the_modern_objects():
    out = run_python("-c", textwrap.dedent("""
        import slimcompat, tensorflow
        from tensorflow.python.framework import ops, tensor
        from tensorflow.python.ops import array_ops, array_ops_stack, control_flow_ops, cond
        print(ops.Tensor is tensor.Tensor, array_ops.stack is array_ops_stack.stack,
              control_flow_ops.cond is cond.cond)
    """))
    assert out.stdout.split() == ["True", "True", "True"]


def test_partitioned_checkpoint_restore_uses_tuple_slices(tmp_path):
    out = run_python("-c", textwrap.dedent(f"""
        import numpy as np, slimcompat, tf_slim as slim, tensorflow.compat.v1 as tf
        tf.disable_eager_execution()
        value = np.arange(12, dtype=np.float32).reshape(6, 2)
        with tf.Graph().as_default():
            v = tf.get_variable('w', initializer=value)
            with tf.Session() as s:
                s.run(tf.global_variables_initializer())
                tf.train.Saver().save(s, r'{tmp_path}/m')
        with tf.Graph().as_default():
            parts = tf.get_variable('w', [6, 2], partitioner=tf.fixed_size_partitioner(3))
            op, feed = slim.assign_from_checkpoint(r'{tmp_path}/m', list(parts))
            with tf.Session() as s:
                s.run(op, feed)
                print(np.array_equal(s.run(tf.concat(list(parts), 0)), value))
    """))
    assert out.stdout.strip() == "True"


def test_doctor_lists_versions_repairs_and_devices():
    info = json.loads(slimcompat("doctor", "--json").stdout)
    assert info["packages"]["tf-slim"] == "1.1.0"
    assert info["packages"]["numpy"]
    states = {r["name"]: r["state"] for r in info["repairs"]}
    assert any("tf_keras.legacy_tf_layers" in name for name in states)
    assert not [n for n, s in states.items() if s.startswith("failed")]
    assert info["gpus"] == [] or all("GPU" in g for g in info["gpus"])
    assert isinstance(info["tf32"], bool)
    table = slimcompat("doctor").stdout
    assert "repairs" in table and "TF32" in table and "GPU visible" in table
