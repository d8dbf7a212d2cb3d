# A TF1-era program in the style of its time, kept unmodified: tests run it through `slimcompat run`.
import numpy as np
import tensorflow as tf
slim = tf.contrib.slim

tf.logging.set_verbosity(tf.logging.ERROR)
flags = tf.app.flags
flags.DEFINE_string('train_dir', 'train', 'where to write')
flags.DEFINE_integer('steps', 5, 'steps')
FLAGS = flags.FLAGS

def model(images, is_training):
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        weights_regularizer=slim.l2_regularizer(1e-4),
                        normalizer_fn=slim.batch_norm,
                        normalizer_params={'is_training': is_training, 'decay': 0.9}):
        net = slim.conv2d(images, 8, [3, 3], scope='conv1')
        net = slim.max_pool2d(net, [2, 2], scope='pool1')
        net = slim.flatten(net)
        net = slim.dropout(net, 0.5, is_training=is_training)
        return slim.fully_connected(net, 10, activation_fn=None, normalizer_fn=None, scope='logits')

def main(_):
    with tf.Graph().as_default():
        x = tf.constant(np.random.RandomState(0).rand(16, 8, 8, 1).astype(np.float32))
        y = tf.constant(np.arange(16) % 10)
        images, labels = tf.train.batch([x[0], y[0]], batch_size=4) if False else (x, y)
        logits = model(images, True)
        slim.losses.softmax_cross_entropy(logits, slim.one_hot_encoding(labels, 10))
        total = slim.losses.get_total_loss()
        tf.summary.scalar('loss', total)
        opt = tf.train.MomentumOptimizer(0.01, 0.9)
        train_op = slim.learning.create_train_op(total, opt)
        final = slim.learning.train(train_op, FLAGS.train_dir, number_of_steps=FLAGS.steps,
                                    save_summaries_secs=600, save_interval_secs=600)
        print('final loss %.4f' % final)
        print('checkpoint', tf.train.latest_checkpoint(FLAGS.train_dir) is not None)

if __name__ == '__main__':
    tf.app.run()
