"""Keras 1's `Embedding(dropout=p)`: whole words dropped from the vocabulary while training.

Keras 1.2.2's Embedding.call multiplied its table by a per-word Bernoulli mask
(`K.random_binomial((input_dim,), p=1 - p) / (1 - p)`) in the training phase,
so a dropped word vanished at every position of the batch. Keras 2 dropped the
argument with a warning (SpatialDropout1D, which it suggested, drops embedding
channels, not words), tf-keras and Keras 3 refuse it. `slimcompat run` keeps it
on tf-keras' Embedding with this function.
"""

__all__ = ["ATTRIBUTE", "lookup", "keras3_embedding"]

ATTRIBUTE = "_slimcompat_word_dropout"


def lookup(embeddings, ids, rate, training):
    """The rows of `embeddings` for `ids`, with Keras 1's word dropout at `rate` if `training`."""
    import tensorflow as tf
    ids = tf.cast(ids, "int32")

    def dropped():
        keep = 1.0 - rate
        mask = tf.cast(tf.random.uniform(tf.shape(embeddings)[:1]) < keep, embeddings.dtype) / keep
        return tf.nn.embedding_lookup(embeddings * mask[:, None], ids)

    if isinstance(training, bool) or training is None:
        return dropped() if training else tf.nn.embedding_lookup(embeddings, ids)
    return tf.cond(tf.cast(training, tf.bool), dropped, lambda: tf.nn.embedding_lookup(embeddings, ids))


def keras3_embedding():
    """Keras 3's Embedding taking Keras 1's `dropout` (what `migrate` rewrites `Embedding(dropout=p)` to)."""
    import keras

    class Embedding(keras.layers.Embedding):
        """keras.layers.Embedding with Keras 1's word dropout (`dropout`, the fraction of words dropped)."""

        def __init__(self, *args, dropout=0.0, **kwargs):
            super().__init__(*args, **kwargs)
            self.dropout = dropout

        def call(self, inputs, training=None):
            if not self.dropout or not training:
                return super().call(inputs)
            return lookup(self.embeddings, inputs, self.dropout, training)

        def get_config(self):
            return {**super().get_config(), "dropout": self.dropout}

    return Embedding
