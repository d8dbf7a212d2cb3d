"""Keras 2.0-2.2's backend functions whose meaning changed later: `K.batch_dot`, which Keras 2.3 changed.

For tensors of three or more dimensions Keras 2.2 multiplied the batches as
matrices, `axes` only choosing whether each side is transposed (the last axis
of x, the second-to-last of y, by default): `batch_dot(x, y, [2, 3])` on
(b, 10, 16) and (b, 10, 1152, 16) was (b, 10, 1152). Keras 2.3 and tf-keras
contract exactly the named axes, and Keras 3 has no `batch_dot` at all, so the
era's capsule networks (examples/cifar10_cnn_capsule.py) fail in shape checks.
Written from the behaviour of keras/backend/tensorflow_backend.py at 2.2.4:
the lower-rank side padded with trailing unit axes, a sum of products for two
matrices, `matmul` with the adjoints the axes imply otherwise, the padding
squeezed out again, and a vector result made a column.
"""

__all__ = ["batch_dot", "install"]


def batch_dot(x, y, axes=None):
    """Keras 2.2's batch_dot on TensorFlow tensors or Keras 3 tensors alike."""
    ops = _ops(x, y)
    if isinstance(axes, int):
        axes = (axes, axes)
    x_ndim, y_ndim = len(x.shape), len(y.shape)
    if axes is None:
        axes = [x_ndim - 1, y_ndim - 2]
    if any(isinstance(a, (list, tuple)) for a in axes):
        raise ValueError(f"batch_dot: multiple target dimensions are not supported, got axes={axes}")
    diff = abs(x_ndim - y_ndim)
    for _ in range(diff):
        if x_ndim > y_ndim:
            y = ops.expand_dims(y, -1)
        else:
            x = ops.expand_dims(x, -1)
    if len(x.shape) == 2 and len(y.shape) == 2:
        if axes[0] == axes[1]:
            out = ops.sum(x * y, axis=axes[0])
        else:
            out = ops.sum(ops.transpose(x, [1, 0]) * y, axis=axes[1])
    else:
        if axes[0] != len(x.shape) - 1:
            x = ops.swapaxes(x, -1, -2)
        if axes[1] == len(y.shape) - 1:
            y = ops.swapaxes(y, -1, -2)
        out = ops.matmul(x, y)
    if diff:
        start = x_ndim + y_ndim - 3 if x_ndim > y_ndim else x_ndim - 1
        out = ops.squeeze(out, axis=tuple(range(start, start + diff)))
    if len(out.shape) == 1:
        out = ops.expand_dims(out, 1)
    return out


class _TF:
    """The few operations batch_dot needs, on TensorFlow (tf-keras' backend)."""

    def __init__(self):
        import tensorflow as tf
        self.tf = tf

    def expand_dims(self, x, axis):
        return self.tf.expand_dims(x, axis)

    def sum(self, x, axis):
        return self.tf.reduce_sum(x, axis)

    def transpose(self, x, perm):
        return self.tf.transpose(x, perm)

    def swapaxes(self, x, a, b):
        return self.tf.experimental.numpy.swapaxes(x, a, b)

    def matmul(self, x, y):
        return self.tf.matmul(x, y)

    def squeeze(self, x, axis):
        return self.tf.squeeze(x, axis)


def _ops(*tensors):
    if any(type(t).__module__.startswith("keras.") for t in tensors):
        from keras import ops
        return ops
    return _TF()


def install():
    """Serve Keras 2.2's batch_dot as tf-keras' backend's (for programs of the Keras 2.2 years, under `run`)."""
    from slimcompat.runtime.activation import after_import

    def patch(tf_keras):
        import tf_keras.src.backend as implementation
        for module in (tf_keras.backend, implementation):
            module.batch_dot = batch_dot
    after_import("tf_keras", patch)
