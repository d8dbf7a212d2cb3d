# A TF1-era program in the style of its time, kept unmodified: tests run it through `slimcompat run`.
import numpy as np
import tensorflow as tf
from tensorflow.contrib import layers
from tensorflow.contrib.layers import fully_connected, batch_norm, l2_regularizer, xavier_initializer

x = tf.placeholder(tf.float32, [None, 20])
y = tf.placeholder(tf.int64, [None])
is_training = tf.placeholder(tf.bool, [])
h = fully_connected(x, 32, weights_initializer=xavier_initializer(), weights_regularizer=l2_regularizer(0.01),
                    normalizer_fn=batch_norm, normalizer_params={'is_training': is_training, 'updates_collections': None})
logits = layers.fully_connected(h, 3, activation_fn=None)
loss = tf.losses.sparse_softmax_cross_entropy(y, logits) + tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
step = tf.train.get_or_create_global_step()
train = layers.optimize_loss(loss, step, learning_rate=0.1, optimizer='Adam', summaries=['loss'])
acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
rs = np.random.RandomState(1)
X = rs.randn(64, 20).astype(np.float32); Y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1)
with tf.Session() as s:
    s.run(tf.global_variables_initializer())
    for i in range(60):
        _, l = s.run([train, loss], {x: X, y: Y, is_training: True})
    print('loss %.3f acc %.2f' % (l, s.run(acc, {x: X, y: Y, is_training: False})))
