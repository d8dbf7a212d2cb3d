"""Softmax regression on MNIST with placeholders and a Session, as the TF 1.x beginner tutorials taught it.

Written by the slimcompat team for the corpus tier, in the style of the era.
"""
import numpy as np
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype(np.float32) / 255.0
x_test = x_test.reshape(-1, 784).astype(np.float32) / 255.0

x = tf.placeholder(tf.float32, [None, 784])
y_ = tf.placeholder(tf.int64, [None])
W = tf.Variable(tf.zeros([784, 10]))
b = tf.Variable(tf.zeros([10]))
y = tf.matmul(x, W) + b

cross_entropy = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_, logits=y))
train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
correct_prediction = tf.equal(tf.argmax(y, 1), y_)
accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

sess = tf.InteractiveSession()
tf.global_variables_initializer().run()
for step in range(200):
    idx = np.random.randint(0, len(x_train), 100)
    _, loss = sess.run([train_step, cross_entropy], feed_dict={x: x_train[idx], y_: y_train[idx]})
    if step % 20 == 0:
        print('step %d, loss %g' % (step, loss))
print('step %d, loss %g' % (step, sess.run(cross_entropy, feed_dict={x: x_train, y_: y_train})))
print('test accuracy %g' % sess.run(accuracy, feed_dict={x: x_test, y_: y_test}))
