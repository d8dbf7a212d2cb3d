"""Grouped convolution that runs wherever TensorFlow does.

TensorFlow's grouped conv is one Conv2D whose kernel has in/groups input
channels. Grappler fuses a Conv2D with the BatchNorm, bias and ReLU after it,
and the fused CPU kernel without oneDNN refuses groups at run time ("Fused conv
implementation does not support grouped convolutions for now"; TensorFlow issues
42177, 53631). Whether this machine's TensorFlow runs it is asked once, by
running the pattern in a small graph of its own; where it does not, the
convolution is computed group by group on slices of the same kernel and
concatenated, which no fusion spans. The two are exact against each other
(tests/test_families.py), so the choice changes no weight and no checkpoint.
"""

import functools

import numpy as np
import tensorflow as tf

__all__ = ["conv2d", "native_runs"]


def conv2d(inputs, kernel, groups, strides, padding):
    """`tf.nn.conv2d` of `inputs` with a grouped `kernel` [k, k, in/groups, out], natively if this machine can."""
    if groups == 1 or native_runs():
        return tf.nn.conv2d(inputs, kernel, strides, padding)
    parts = zip(tf.split(inputs, groups, axis=-1), tf.split(kernel, groups, axis=-1))
    return tf.concat([tf.nn.conv2d(x, k, strides, padding) for x, k in parts], axis=-1)


@functools.lru_cache(maxsize=None)
def native_runs():
    """Whether a grouped conv followed by BatchNorm and ReLU runs, fused as grappler fuses it, on this machine."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [2, 4, 4, 4])  # fed: constants would be folded before fusion
        y = tf.nn.conv2d(x, tf.ones([3, 3, 2, 4]), [1, 1, 1, 1], "SAME")
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(y, tf.ones([4]), tf.zeros([4]), tf.zeros([4]), tf.ones([4]),
                                                   is_training=False)
        y = tf.nn.relu(y)
    try:
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(y, {x: np.ones([2, 4, 4, 4], np.float32)})
    except (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError):
        return False
    return True
