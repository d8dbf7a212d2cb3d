"""An MLP in tf.contrib.slim (arg_scope, fully_connected, slim.learning.create_train_op) in a plain Session loop.

Written by the slimcompat team for the corpus tier, in the style of the era.
"""
import numpy as np
import tensorflow as tf
import tensorflow.contrib.slim as slim

(x_train, y_train), _ = tf.keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype(np.float32) / 255.0

inputs = tf.placeholder(tf.float32, [None, 784])
targets = tf.placeholder(tf.int64, [None])
with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.relu,
                    weights_initializer=tf.truncated_normal_initializer(stddev=0.05),
                    weights_regularizer=slim.l2_regularizer(1e-4)):
    net = slim.fully_connected(inputs, 256, scope='fc1')
    net = slim.dropout(net, 0.8, is_training=True, scope='dropout1')
    logits = slim.fully_connected(net, 10, activation_fn=None, scope='logits')
slim.losses.sparse_softmax_cross_entropy(logits, targets)
total_loss = slim.losses.get_total_loss()
optimizer = tf.train.MomentumOptimizer(0.05, 0.9)
train_op = slim.learning.create_train_op(total_loss, optimizer)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(100):
        idx = np.random.randint(0, len(x_train), 64)
        value = sess.run(train_op, {inputs: x_train[idx], targets: y_train[idx]})
        if step % 20 == 0 or step == 99:
            print('step %d, loss %.4f' % (step, value))
    print('%d trainable variables' % len(slim.get_trainable_variables()))
