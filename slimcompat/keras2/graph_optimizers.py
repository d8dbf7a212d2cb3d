"""tf-keras in TF1 graph mode trains only with its legacy optimizers.

Keras 2.x's optimizers were what tf-keras now calls `optimizers.legacy`. In
graph mode tf-keras' `compile` converts a new-style optimizer to its legacy
twin through `get_config`, which reads variables eagerly and fails ("numpy()
is only available when eager execution is enabled"). A program `run` puts in
graph mode gets the legacy classes under the names it uses
(`keras.optimizers.Adadelta`, `tf.keras.optimizers.SGD`): the optimizers of
its day, with their update rule and `decay`.
"""

__all__ = ["install"]


def install():
    """Bind tf-keras' optimizer names to the legacy classes (call after TensorFlow is imported)."""
    import tf_keras
    legacy = tf_keras.optimizers.legacy
    for name in dir(legacy):
        cls = getattr(legacy, name)
        if isinstance(cls, type) and issubclass(cls, legacy.Optimizer) and hasattr(tf_keras.optimizers, name):
            setattr(tf_keras.optimizers, name, cls)
