"""Fixes found by the corpus tier (tests/corpus), each shown on the smallest source that has it.

The corpus runs the era's programs in subprocesses and takes minutes; these
check the decision each failure came from, in-process and from source alone.
"""

import ast
import textwrap

import pytest

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


def test_an_optimizer_given_learning_rate_stays_keras3():
    program = _program("""
        import keras
        model = keras.Sequential([keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
        lr = 0.1
        print(dict(lr=lr))
    """)
    assert program.keras_version() == ("3", None)


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
