"""Linear regression with placeholders, summaries for TensorBoard and a Saver, as TF 1.x blog tutorials wrote it.

Written by the slimcompat team for the corpus tier, in the style of the era: the data is made by the
program itself (noisy points on a line), the graph is built once, trained in a Session, written to a
FileWriter every few steps, saved, and restored into a fresh Session to report the final loss.
"""
import os
import tempfile

import numpy as np
import tensorflow as tf

rng = np.random.RandomState(0)
train_X = rng.uniform(-1, 1, size=(256, 1)).astype(np.float32)
train_Y = (3.0 * train_X + 2.0 + rng.normal(0, 0.1, size=(256, 1))).astype(np.float32)

X = tf.placeholder(tf.float32, [None, 1], name='X')
Y = tf.placeholder(tf.float32, [None, 1], name='Y')
W = tf.Variable(tf.random_normal([1, 1]), name='weight')
b = tf.Variable(tf.zeros([1]), name='bias')
pred = tf.add(tf.matmul(X, W), b)
cost = tf.reduce_mean(tf.square(pred - Y))
optimizer = tf.train.GradientDescentOptimizer(0.1).minimize(cost)
tf.summary.scalar('loss', cost)
merged = tf.summary.merge_all()
saver = tf.train.Saver()

logdir = tempfile.mkdtemp()
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    writer = tf.summary.FileWriter(logdir, sess.graph)
    for step in range(100):
        _, loss, summary = sess.run([optimizer, cost, merged], feed_dict={X: train_X, Y: train_Y})
        if step % 10 == 0:
            writer.add_summary(summary, step)
            print('step %d, loss %g' % (step, loss))
    writer.close()
    path = saver.save(sess, os.path.join(logdir, 'model.ckpt'))

with tf.Session() as sess:
    saver.restore(sess, path)
    print('step %d, loss %g' % (step + 1, sess.run(cost, feed_dict={X: train_X, Y: train_Y})))
    print('W=%g b=%g' % (sess.run(W)[0, 0], sess.run(b)[0]))
