"""Keras 3's sparse categorical crossentropy, with Keras 2's rule for outputs of another rank.

Keras 2 flattened labels and outputs whose ranks did not fit (labels (N, 1),
outputs (N, 1, 1, C): one prediction per label after all) and computed the loss
per row; Keras 3 refuses them ("Argument `output` must have rank (ndim)
`target.ndim - 1`"). Seed 003's ResNet18 trains on exactly such outputs. Where
Keras 3 accepts the shapes this loss is Keras 3's, bit for bit; where it does
not, it flattens as tf-keras does (`backend.sparse_categorical_crossentropy`)
and gives the per-position losses back in the outputs' shape.
"""

import keras
from keras import ops

__all__ = ["SparseCategoricalCrossentropy"]


@keras.saving.register_keras_serializable(package="slimcompat")
class SparseCategoricalCrossentropy(keras.losses.SparseCategoricalCrossentropy):
    """keras.losses.SparseCategoricalCrossentropy, flattening mismatched ranks as Keras 2 did."""

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        rank = len(y_pred.shape)
        if rank < 3 or len(y_true.shape) == rank - 1:
            return super().call(y_true, y_pred)
        positions = ops.shape(y_pred)[:-1]
        losses = super().call(ops.reshape(y_true, (-1,)), ops.reshape(y_pred, (-1, y_pred.shape[-1])))
        return ops.reshape(losses, positions)
