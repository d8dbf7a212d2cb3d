"""A tf.layers convnet on MNIST trained in a Session, saved with tf.train.Saver, restored into a fresh graph.

Written by the slimcompat team for the corpus tier, in the style of the era (TF 1.4-1.14).
"""
import os
import numpy as np
import tensorflow as tf

tf.logging.set_verbosity(tf.logging.INFO)
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = (x_train / 255.0).astype(np.float32)[..., None]
x_test = (x_test / 255.0).astype(np.float32)[..., None]


def build(images, training):
    net = tf.layers.conv2d(images, 16, 5, padding='same', activation=tf.nn.relu, name='conv1')
    net = tf.layers.max_pooling2d(net, 2, 2)
    net = tf.layers.conv2d(net, 32, 5, padding='same', activation=tf.nn.relu, name='conv2')
    net = tf.layers.max_pooling2d(net, 2, 2)
    net = tf.layers.flatten(net)
    net = tf.layers.dense(net, 128, activation=tf.nn.relu, name='fc1')
    net = tf.layers.dropout(net, rate=0.4, training=training)
    return tf.layers.dense(net, 10, name='logits')


images = tf.placeholder(tf.float32, [None, 28, 28, 1], name='images')
labels = tf.placeholder(tf.int64, [None], name='labels')
is_training = tf.placeholder_with_default(False, [], name='is_training')
logits = build(images, is_training)
loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
global_step = tf.train.get_or_create_global_step()
train_op = tf.train.AdamOptimizer(1e-3).minimize(loss, global_step=global_step)
saver = tf.train.Saver()

if not os.path.exists('model'):
    os.makedirs('model')
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(60):
        idx = np.random.randint(0, len(x_train), 64)
        _, value = sess.run([train_op, loss], {images: x_train[idx], labels: y_train[idx], is_training: True})
        if step % 10 == 0:
            print('step %d, loss %.4f' % (step, value))
    trained = sess.run(loss, {images: x_test, labels: y_test})
    save_path = saver.save(sess, 'model/mnist.ckpt', global_step=global_step)
    print('Model saved in path: %s' % save_path)

tf.reset_default_graph()
images = tf.placeholder(tf.float32, [None, 28, 28, 1])
labels = tf.placeholder(tf.int64, [None])
loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=build(images, False))
tf.train.get_or_create_global_step()
with tf.Session() as sess:
    tf.train.Saver().restore(sess, tf.train.latest_checkpoint('model'))
    restored = sess.run(loss, {images: x_test, labels: y_test})
print('restored test loss %.4f (saved %.4f)' % (restored, trained))
assert abs(restored - trained) < 1e-5
