"""The program analysis weighs code that runs: a TF1-only call in a function never called decides nothing."""

import textwrap

from slimcompat.legacy.program import analyse

KERAS_PROGRAM = """
import tensorflow as tf
from tensorflow import keras

def pixel_shuffle(x):
    return tf.depth_to_space(x, 2)

def build():
    return keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])

model = build()
"""


def test_a_tf1_call_in_a_function_never_called_is_no_evidence(write):
    program = analyse(write("prog.py", textwrap.dedent(KERAS_PROGRAM)))
    assert program.tf1() == []
    assert [str(e) for e in program.unreached] == ["tf.depth_to_space at prog.py:6"]


def test_the_same_call_in_a_function_that_is_called_is_evidence(write):
    source = textwrap.dedent(KERAS_PROGRAM) + "y = pixel_shuffle(model.output)\n"
    program = analyse(write("prog.py", source))
    assert [str(e) for e in program.tf1()] == ["tf.depth_to_space at prog.py:6"]
